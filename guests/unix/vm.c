// Sv32 page tables: the kernel's, and one per process.
//
// Every page table maps the kernel the same way in its upper half (RAM at its
// physical address, devices at KDEV_OFFSET + physical address, none with PTE_U),
// so a trap from U-mode lands in the kernel without switching satp.  A process's
// table copies the kernel's upper-half first-level entries: the kernel's
// second-level tables are shared and never change after kvminit().  User pages
// (PTE_U) live below USERTOP.

#include "defs.h"

extern char etext[];            // kernel.ld: end of kernel text

pagetable_t kernel_pagetable;
uint32 kdev_offset;             // 0 until paging is on, then KDEV_OFFSET

#define KERNEL_L1_FIRST VPN(1, USERTOP)   // first-level slots shared by all tables
#define MEGAPAGE (PGSIZE * 1024)

// The PTE for va in pt, allocating a second-level table if alloc; 0 if absent.
pte_t *walk(pagetable_t pt, uint32 va, int alloc)
{
    pte_t *l1 = &pt[VPN(1, va)];
    if (*l1 & PTE_V) {
        if (*l1 & (PTE_R | PTE_W | PTE_X))
            panic("walk: megapage");
    } else {
        pagetable_t l0;
        if (!alloc || (l0 = kalloc()) == 0)
            return 0;
        *l1 = PA2PTE(l0) | PTE_V;
    }
    pagetable_t l0 = (pagetable_t)PTE2PA(*l1);
    return &l0[VPN(0, va)];
}

// Map [va, va+size) to [pa, ...) with perm, 4 KiB at a time; -1 if out of memory.
// A/D are set up front: the hardware may either set them or fault when clear
// (4.3.1), and QEMU and our machine need not agree.
static int mappages(pagetable_t pt, uint32 va, uint32 size, uint32 pa, uint32 perm)
{
    for (uint32 a = PGROUNDDOWN(va); a < va + size; a += PGSIZE, pa += PGSIZE) {
        pte_t *pte = walk(pt, a, 1);
        if (!pte)
            return -1;
        if (*pte & PTE_V)
            panic("mappages: remap");
        *pte = PA2PTE(pa) | perm | PTE_V | PTE_A | PTE_D;
    }
    return 0;
}

// Map one 4 MiB megapage (va and pa 4 MiB aligned).
static void map_megapage(pagetable_t pt, uint32 va, uint32 pa, uint32 perm)
{
    pt[VPN(1, va)] = PA2PTE(pa) | perm | PTE_V | PTE_A | PTE_D;
}

static void kvmmap(uint32 va, uint32 size, uint32 pa, uint32 perm)
{
    if (mappages(kernel_pagetable, va, size, pa, perm) < 0)
        panic("kvmmap: out of memory");
}

// Build the kernel's page table: text r-x, the rest of the first 4 MiB of RAM
// rw- in pages, the remaining RAM rw- in megapages (cheap to build), devices rw-.
void kvminit(void)
{
    kernel_pagetable = kalloc();
    uint32 first_mega = RAM_BASE + MEGAPAGE;
    if ((uint32)etext >= first_mega)
        panic("kvminit: kernel text beyond 4 MiB");
    kvmmap(RAM_BASE, (uint32)etext - RAM_BASE, RAM_BASE, PTE_R | PTE_X);
    kvmmap((uint32)etext, first_mega - (uint32)etext, (uint32)etext, PTE_R | PTE_W);
    for (uint32 a = first_mega; a < PHYSTOP; a += MEGAPAGE)
        map_megapage(kernel_pagetable, a, a, PTE_R | PTE_W);

    kvmmap(KDEV_OFFSET + FINISHER_BASE, PGSIZE, FINISHER_BASE, PTE_R | PTE_W);
    kvmmap(KDEV_OFFSET + CLINT_BASE, 0x10000, CLINT_BASE, PTE_R | PTE_W);  // clock.c
    kvmmap(KDEV_OFFSET + UART0_BASE, PGSIZE, UART0_BASE, PTE_R | PTE_W);
    kvmmap(KDEV_OFFSET + VIRTIO_BASE, 8 * VIRTIO_STRIDE, VIRTIO_BASE, PTE_R | PTE_W);
    map_megapage(kernel_pagetable, KDEV_OFFSET + PLIC_BASE, PLIC_BASE, PTE_R | PTE_W);
}

// Turn on paging with the kernel's table; devices move to their window.
void kvminithart(void)
{
    sfence_vma();
    w_satp(MAKE_SATP(kernel_pagetable));
    sfence_vma();
    kdev_offset = KDEV_OFFSET;
}

// Physical address of user page va, or 0 if it is not a mapped user page.
uint32 walkaddr(pagetable_t pt, uint32 va)
{
    if (va >= USERTOP)
        return 0;
    pte_t *pte = walk(pt, va, 0);
    if (!pte || (*pte & (PTE_V | PTE_U)) != (PTE_V | PTE_U))
        return 0;
    return PTE2PA(*pte);
}

// A new process page table: no user pages, the kernel's upper half; 0 if no memory.
pagetable_t uvmcreate(void)
{
    pagetable_t pt = kalloc();
    if (pt)
        for (int i = KERNEL_L1_FIRST; i < 1024; i++)
            pt[i] = kernel_pagetable[i];
    return pt;
}

// Unmap and free the user pages in [va, va + n pages); missing pages are skipped.
static void uvmunmap(pagetable_t pt, uint32 va, uint32 npages)
{
    for (uint32 a = va; a < va + npages * PGSIZE; a += PGSIZE) {
        pte_t *pte = walk(pt, a, 0);
        if (!pte || !(*pte & PTE_V))
            continue;
        kfree((void *)PTE2PA(*pte));
        *pte = 0;
    }
}

// Grow user memory from oldsz to newsz with zeroed pages (PTE_U | perm);
// returns newsz, or 0 (having undone its work) if memory ran out.
uint32 uvmalloc(pagetable_t pt, uint32 oldsz, uint32 newsz, uint32 perm)
{
    if (newsz > USERTOP || newsz < oldsz)
        return 0;
    for (uint32 a = PGROUNDUP(oldsz); a < newsz; a += PGSIZE) {
        void *mem = kalloc();
        if (!mem || mappages(pt, a, PGSIZE, (uint32)mem, perm | PTE_U) < 0) {
            if (mem)
                kfree(mem);
            uvmdealloc(pt, a, oldsz);
            return 0;
        }
    }
    return newsz;
}

// Shrink user memory from oldsz to newsz; returns newsz.
uint32 uvmdealloc(pagetable_t pt, uint32 oldsz, uint32 newsz)
{
    if (newsz >= oldsz)
        return oldsz;
    uint32 from = PGROUNDUP(newsz);
    if (from < PGROUNDUP(oldsz))
        uvmunmap(pt, from, (PGROUNDUP(oldsz) - from) / PGSIZE);
    return newsz;
}

// Free a process's user pages below sz, its second-level tables and the table.
void uvmfree(pagetable_t pt, uint32 sz)
{
    uvmunmap(pt, 0, PGROUNDUP(sz) / PGSIZE);
    for (uint32 i = 0; i < KERNEL_L1_FIRST; i++)
        if (pt[i] & PTE_V)
            kfree((void *)PTE2PA(pt[i]));
    kfree(pt);
}

// Copy the parent's user memory below sz into child's table, page by page, with
// the same permissions; -1 (child's pages freed by the caller) if out of memory.
int uvmcopy(pagetable_t old, pagetable_t new, uint32 sz)
{
    for (uint32 a = 0; a < sz; a += PGSIZE) {
        pte_t *pte = walk(old, a, 0);
        if (!pte || !(*pte & PTE_V))
            continue;                       // page 0, never mapped
        void *mem = kalloc();
        if (!mem)
            return -1;
        memcpy(mem, (void *)PTE2PA(*pte), PGSIZE);
        if (mappages(new, a, PGSIZE, (uint32)mem, *pte & (PTE_R | PTE_W | PTE_X | PTE_U)) < 0) {
            kfree(mem);
            return -1;
        }
    }
    return 0;
}

// Take PTE_U off the page at va: the guard page below the user stack.
void uvmclear(pagetable_t pt, uint32 va)
{
    pte_t *pte = walk(pt, va, 0);
    if (!pte)
        panic("uvmclear: no page");
    *pte &= ~PTE_U;
}

// Copy len bytes from kernel src to user dstva; -1 if any byte is not user memory.
int copyout(pagetable_t pt, uint32 dstva, const void *src, uint32 len)
{
    const uint8 *s = src;
    while (len > 0) {
        uint32 page = PGROUNDDOWN(dstva);
        uint32 pa = walkaddr(pt, page);
        pte_t *pte = pa ? walk(pt, page, 0) : 0;
        if (!pa || !(*pte & PTE_W))
            return -1;
        uint32 n = PGSIZE - (dstva - page);
        if (n > len)
            n = len;
        memmove((void *)(pa + (dstva - page)), s, n);
        len -= n, s += n, dstva = page + PGSIZE;
    }
    return 0;
}

// Copy len bytes from user srcva to kernel dst; -1 if any byte is not user memory.
int copyin(pagetable_t pt, void *dst, uint32 srcva, uint32 len)
{
    uint8 *d = dst;
    while (len > 0) {
        uint32 page = PGROUNDDOWN(srcva);
        uint32 pa = walkaddr(pt, page);
        if (!pa)
            return -1;
        uint32 n = PGSIZE - (srcva - page);
        if (n > len)
            n = len;
        memmove(d, (void *)(pa + (srcva - page)), n);
        len -= n, d += n, srcva = page + PGSIZE;
    }
    return 0;
}

// Copy a NUL-terminated string of at most max bytes (NUL included) from user
// srcva; 0 on success, -1 if it is too long or not in user memory.
int copyinstr(pagetable_t pt, char *dst, uint32 srcva, uint32 max)
{
    while (max > 0) {
        uint32 page = PGROUNDDOWN(srcva);
        uint32 pa = walkaddr(pt, page);
        if (!pa)
            return -1;
        const char *p = (const char *)(pa + (srcva - page));
        for (uint32 n = PGSIZE - (srcva - page); n > 0 && max > 0; n--, max--) {
            if ((*dst++ = *p++) == 0)
                return 0;
            srcva++;
        }
    }
    return -1;
}
