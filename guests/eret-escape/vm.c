// The kernel's Sv32 page table (priv spec 4.3).  One address space for kernel
// and user, identity-mapped (virtual = physical) so the kernel keeps running the
// instant paging comes on.  What separates the user from the kernel is only the
// U bit: U-mode may touch a page only if its PTE has U, and S-mode may not
// execute a U page.
#include "riscv.h"
#include "memlayout.h"
#include "defs.h"

// Root plus one leaf table for each 4 MiB region used: the finisher
// (0x00000000), the UART (0x10000000) and RAM (0x80000000).
#define NTABLES 4
static uint32 tables[NTABLES][1024] __attribute__((aligned(PGSIZE)));
static int tables_used;
static uint32 *root;

uint32 kernel_satp;   // what main() put in satp; the verdict checks it is still there

// A fresh, zeroed (by entry.S) page table page.
static uint32 *alloc_table(void) {
  if (tables_used == NTABLES)
    panic("vm: out of page table pages");
  return tables[tables_used++];
}

// The level-0 PTE that translates va, making its leaf table if need be.
// Before paging is on, and after (identity map), a table's physical address
// is also the kernel's pointer to it.
uint32 *walk(uint32 va) {
  uint32 *pte1 = &root[VPN(1, va)];
  if ((*pte1 & PTE_V) == 0)
    *pte1 = PA2PTE(alloc_table()) | PTE_V;   // R=W=X=0: a pointer to a leaf table
  uint32 *leaf = (uint32 *)PTE2PA(*pte1);
  return &leaf[VPN(0, va)];
}

// Map the pages covering [start, end) to themselves with permissions perm.
// A and D are set up front: hardware may instead fault on a clear A or D and
// leave it to software (QEMU sets them itself, but a kernel must not count on it).
static void map_identity(uint32 start, uint32 end, uint32 perm) {
  for (uint32 a = PGROUNDDOWN(start); a < end; a += PGSIZE) {
    uint32 *pte = walk(a);
    if (*pte & PTE_V)
      panic("vm: page mapped twice");
    *pte = PA2PTE(a) | perm | PTE_A | PTE_D | PTE_V;
  }
}

// Build the page table (layout in kernel.ld) and turn paging on.
void kvminit(void) {
  root = alloc_table();
  map_identity(FINISHER_BASE, FINISHER_BASE + PGSIZE, PTE_R | PTE_W);
  map_identity(UART0_BASE, UART0_BASE + PGSIZE, PTE_R | PTE_W);
  map_identity(RAM_BASE, (uint32)user_text, PTE_R | PTE_X);              // kernel code
  map_identity((uint32)user_text, (uint32)user_stack, PTE_R | PTE_X | PTE_U);
  map_identity((uint32)user_stack, (uint32)user_end, PTE_R | PTE_W | PTE_U);
  map_identity((uint32)user_end, (uint32)kernel_end, PTE_R | PTE_W);     // data, secret, bss

  kernel_satp = MAKE_SATP(root);
  w_satp(kernel_satp);
  sfence_vma();
}
