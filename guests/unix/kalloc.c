// The physical page allocator: every 4 KiB frame from the end of the kernel image
// to PHYSTOP.  Frames are reached through the kernel's identity map of RAM, so a
// frame's physical address is also its kernel pointer.
//
// Frames never given out yet are handed out in address order from `fresh`; frames
// given back sit on a free list.  kinit writes nothing to the frames: threading all
// 32,000 of a 128 MiB machine onto a list would touch every one (each would then cost
// its host real memory) and take most of the boot's instructions.

#include "defs.h"

extern char end[];              // kernel.ld: first byte after the kernel

struct run {
    struct run *next;
};

static struct run *freelist;
static uint32 fresh;            // the lowest frame never given out; PHYSTOP when none is left
static uint32 nfree, ntotal;

void kinit(void)
{
    fresh = PGROUNDUP((uint32)end);
    ntotal = nfree = (PHYSTOP - fresh) / PGSIZE;
}

// Return a frame that kalloc gave out; panics on anything else.
void kfree(void *pa)
{
    uint32 a = (uint32)pa;
    if (a % PGSIZE || a < (uint32)end || a >= fresh)
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
    if (r) {
        freelist = r->next;
    } else if (fresh + PGSIZE <= PHYSTOP) {
        r = (struct run *)fresh;
        fresh += PGSIZE;
    } else {
        return 0;
    }
    nfree--;
    memset(r, 0, PGSIZE);
    return r;
}

uint32 kfree_count(void)  { return nfree; }
uint32 ktotal_count(void) { return ntotal; }
