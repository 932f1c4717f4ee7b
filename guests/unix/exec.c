// exec: replace the calling process's memory with a program from the kernel
// image.  The user programs are ELF files built from user/ and embedded by
// user/programs.S; `programs` lists them by name.

#include "proc.h"

struct program {
    const char *name;
    const uint8 *start, *end;   // the ELF file's bytes
};
extern const struct program programs[];   // user/programs.S, ends with a 0 name

// ELF32 (System V ABI, gABI chapter 4): the parts exec reads.
struct elfhdr {
    uint8 ident[16];            // "\x7fELF", class, data, version, ...
    uint16 type, machine;
    uint32 version, entry, phoff, shoff, flags;
    uint16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct proghdr {
    uint32 type, offset, vaddr, paddr, filesz, memsz, flags, align;
};
#define ELF_MAGIC   0x464C457Fu  // "\x7fELF" as a little-endian word
#define ELFCLASS32  1
#define EM_RISCV    243
#define PT_LOAD     1
#define PF_X 1
#define PF_W 2
#define PF_R 4

static const struct program *find_program(const char *name)
{
    for (const struct program *prog = programs; prog->name; prog++)
        if (strcmp(prog->name, name) == 0)
            return prog;
    return 0;
}

// Copy n bytes from src to user address va of pt, which is mapped (any write
// permission): through the kernel's map of RAM.  0, or -1 if unmapped.
static int loadseg(pagetable_t pt, uint32 va, const uint8 *src, uint32 n)
{
    while (n > 0) {
        uint32 page = PGROUNDDOWN(va), pa = walkaddr(pt, page);
        if (!pa)
            return -1;
        uint32 chunk = PGSIZE - (va - page);
        if (chunk > n)
            chunk = n;
        memmove((void *)(pa + va - page), src, chunk);
        va += chunk, src += chunk, n -= chunk;
    }
    return 0;
}

static uint32 flags2perm(uint32 flags)
{
    return (flags & PF_R ? PTE_R : 0) | (flags & PF_W ? PTE_W : 0) | (flags & PF_X ? PTE_X : 0);
}

// Run program `name` with arguments argv (kernel strings, 0-terminated) in the
// calling process.  Returns argc (the new program's a0) or -1, leaving the old
// program intact, if the program is missing or malformed or memory runs out.
int exec(const char *name, char **argv)
{
    const struct program *prog = find_program(name);
    if (!prog)
        return -1;
    const struct elfhdr *eh = (const struct elfhdr *)prog->start;
    uint32 size = prog->end - prog->start;
    if (size < sizeof *eh || *(const uint32 *)eh->ident != ELF_MAGIC ||
        eh->ident[4] != ELFCLASS32 || eh->machine != EM_RISCV ||
        eh->phoff + (uint32)eh->phnum * sizeof(struct proghdr) > size)
        return -1;

    pagetable_t pt = uvmcreate();
    if (!pt)
        return -1;
    uint32 sz = USERBASE;                   // page 0 stays unmapped
    const struct proghdr *ph = (const struct proghdr *)(prog->start + eh->phoff);
    for (int i = 0; i < eh->phnum; i++, ph++) {
        if (ph->type != PT_LOAD)
            continue;
        uint32 top = ph->vaddr + ph->memsz;
        if (ph->memsz < ph->filesz || top < ph->vaddr || ph->vaddr < sz ||
            ph->offset + ph->filesz > size || ph->offset + ph->filesz < ph->offset)
            goto bad;
        uint32 newsz = uvmalloc(pt, sz, top, flags2perm(ph->flags));
        if (!newsz)
            goto bad;
        sz = newsz;
        if (loadseg(pt, ph->vaddr, prog->start + ph->offset, ph->filesz) < 0)
            goto bad;
    }

    // A guard page (no PTE_U), then the stack.
    sz = PGROUNDUP(sz);
    uint32 stacktop = uvmalloc(pt, sz, sz + (1 + USTACK_PAGES) * PGSIZE, PTE_R | PTE_W);
    if (!stacktop)
        goto bad;
    uvmclear(pt, sz);
    sz = stacktop;

    // The argument strings, then the argv array, on the new stack.
    uint32 sp = stacktop, uargv[MAXARG + 1];
    int argc;
    for (argc = 0; argv[argc]; argc++) {
        if (argc == MAXARG)
            goto bad;
        sp = (sp - (strlen(argv[argc]) + 1)) & ~15u;   // the ABI's 16-byte alignment
        if (copyout(pt, sp, argv[argc], strlen(argv[argc]) + 1) < 0)
            goto bad;
        uargv[argc] = sp;
    }
    uargv[argc] = 0;
    sp = (sp - (argc + 1) * 4) & ~15u;
    if (copyout(pt, sp, uargv, (argc + 1) * 4) < 0)
        goto bad;

    // Commit: from here on exec cannot fail.
    struct proc *p = myproc();
    pagetable_t oldpt = p->pagetable;
    uint32 oldsz = p->sz;
    p->pagetable = pt;
    p->sz = sz;
    p->trapframe->epc = eh->entry;
    p->trapframe->sp = sp;
    p->trapframe->a1 = sp;                  // argv; argc goes in a0 (the return value)
    safestrcpy(p->name, name, sizeof p->name);
    w_satp(MAKE_SATP(pt));                  // off the old table before freeing it
    sfence_vma();
    uvmfree(oldpt, oldsz);
    return argc;

bad:
    uvmfree(pt, sz);
    return -1;
}
