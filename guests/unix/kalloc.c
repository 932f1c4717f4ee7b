// The physical page allocator: every 4 KiB frame from the end of the kernel image
// to PHYSTOP sits on one free list.  Frames are reached through the kernel's
// identity map of RAM, so a frame's physical address is also its kernel pointer.

#include "defs.h"

extern char end[];              // kernel.ld: first byte after the kernel

struct run {
    struct run *next;
};

static struct run *freelist;
static uint32 nfree, ntotal;

// Put every frame above the kernel on the free list.  Frames are not cleared
// here: writing 128 MiB would dominate boot time on a simulated machine.
void kinit(void)
{
    for (uint32 pa = PGROUNDUP(end); pa + PGSIZE <= PHYSTOP; pa += PGSIZE)
        kfree((void *)pa);
    ntotal = nfree;
}

// Return a frame that kalloc gave out; panics on anything else.
void kfree(void *pa)
{
    uint32 a = (uint32)pa;
    if (a % PGSIZE || a < (uint32)end || a >= PHYSTOP)
        panic("kfree: not a page");
    struct run *r = pa;
    r->next = freelist;
    freelist = r;
    nfree++;
}

// A zeroed 4 KiB frame, or 0 when memory is exhausted.
void *kalloc(void)
{
    struct run *r = freelist;
    if (!r)
        return 0;
    freelist = r->next;
    nfree--;
    memset(r, 0, PGSIZE);
    return r;
}

uint32 kfree_count(void)  { return nfree; }
uint32 ktotal_count(void) { return ntotal; }
