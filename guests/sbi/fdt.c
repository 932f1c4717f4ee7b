// A small reader and editor of flattened device trees (the DTB format of the
// Devicetree Specification, chapter 5).
//
// A DTB is a header, then a memory-reservation block, a structure block and a
// strings block, every number big-endian:
//   header     magic 0xd00dfeed, totalsize, the offsets and sizes of the blocks
//   structure  a stream of 32-bit tokens: BEGIN_NODE name, PROP (len, nameoff,
//              value), END_NODE, ..., END; names and values padded to 4 bytes
//   strings    the property names, NUL-terminated; a PROP names its name by offset
//
// Why edit it: RV32 Linux 6.1 takes every byte the memory node lists as its own,
// the firmware's 256 KiB below the kernel included.  A /reserved-memory child with
// `no-map` tells it to keep off (and PMP makes sure).  We add that node in place:
// slide the rest of the structure block and the strings block up, write the node
// into the gap, append the property names Linux will look up, fix the header.
// The board leaves free RAM after the tree (QEMU and ours put it 2 MiB below the
// end of RAM), and fdt_reserve checks the grown tree still ends before that.
#include "sbi.h"

#define FDT_MAGIC      0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define FDT_END        9

// Header fields, as word indexes.
enum { H_MAGIC, H_TOTALSIZE, H_OFF_STRUCT, H_OFF_STRINGS, H_OFF_RSVMAP, H_VERSION,
       H_LAST_COMP, H_BOOT_CPUID, H_SIZE_STRINGS, H_SIZE_STRUCT };

static uint32 swap(uint32 x) {
  return (x >> 24) | ((x >> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24);
}
static uint32 be32(const void *p) { return swap(*(const uint32 *)p); }
static void put32(void *p, uint32 v) { *(uint32 *)p = swap(v); }
static uint32 hdr(void *dtb, int field) { return be32((uint32 *)dtb + field); }
static void set_hdr(void *dtb, int field, uint32 v) { put32((uint32 *)dtb + field, v); }
static uint32 align4(uint32 x) { return (x + 3) & ~3u; }

int fdt_check(void *dtb) {
  if (dtb == 0 || ((uint32)dtb & 7) || hdr(dtb, H_MAGIC) != FDT_MAGIC)
    return -1;
  // Version 17 is the one with size_dt_struct; every tool writes it today.
  if (hdr(dtb, H_VERSION) < 17 || hdr(dtb, H_LAST_COMP) > 17)
    return -1;
  uint32 total = hdr(dtb, H_TOTALSIZE);
  if (hdr(dtb, H_OFF_STRUCT) + hdr(dtb, H_SIZE_STRUCT) > total ||
      hdr(dtb, H_OFF_STRINGS) + hdr(dtb, H_SIZE_STRINGS) > total || (hdr(dtb, H_OFF_STRUCT) & 3))
    return -1;
  return 0;
}

// A walk through the structure block, one token at a time.
struct walk {
  uint8 *dtb;
  uint32 off;       // the next token, from the start of the tree
  int depth;        // the root node's properties are at depth 1
  const char *name; // BEGIN_NODE: the node's name; PROP: the property's
  uint8 *value;     // PROP: its value
  uint32 len;
  uint32 at;        // where the token just read starts
};

static int next(struct walk *w) {
  uint8 *base = w->dtb + hdr(w->dtb, H_OFF_STRUCT);
  for (;;) {
    if (w->off + 4 > hdr(w->dtb, H_SIZE_STRUCT))
      return FDT_END; // a tree without its END token: stop at its block's end
    w->at = w->off;
    uint32 token = be32(base + w->off);
    w->off += 4;
    switch (token) {
    case FDT_BEGIN_NODE:
      w->name = (const char *)base + w->off;
      w->off += align4(strlen(w->name) + 1);
      w->depth++;
      return token;
    case FDT_END_NODE:
      w->depth--;
      return token;
    case FDT_PROP:
      w->len = be32(base + w->off);
      w->name = (const char *)w->dtb + hdr(w->dtb, H_OFF_STRINGS) + be32(base + w->off + 4);
      w->value = base + w->off + 8;
      w->off += 8 + align4(w->len);
      return token;
    case FDT_NOP:
      continue;
    default: // FDT_END, or something broken: stop either way
      return FDT_END;
    }
  }
}

// Does `name` ("memory@80000000") name a node called `base` ("memory")?
static int is_node(const char *name, const char *base) {
  while (*base && *name == *base)
    name++, base++;
  return *base == 0 && (*name == 0 || *name == '@');
}

// A value of 1 or 2 cells as a 32-bit number (our addresses are all below 4 GiB).
static uint32 cells_value(const uint8 *p, uint32 cells) { return be32(p + 4 * (cells - 1)); }

// The root's #address-cells and #size-cells (the spec's defaults: 2 and 1).
static void root_cells(void *dtb, uint32 *ac, uint32 *sc) {
  struct walk w = {dtb, 0, 0, 0, 0, 0, 0};
  *ac = 2, *sc = 1;
  int t;
  while ((t = next(&w)) != FDT_END) {
    if (t == FDT_BEGIN_NODE && w.depth == 2)
      return; // the root's properties come before its first child
    if (t == FDT_PROP && w.depth == 1 && !strcmp(w.name, "#address-cells"))
      *ac = be32(w.value);
    if (t == FDT_PROP && w.depth == 1 && !strcmp(w.name, "#size-cells"))
      *sc = be32(w.value);
  }
}

// The first range of the /memory node: where RAM is.
int fdt_memory(void *dtb, uint32 *base, uint32 *size) {
  uint32 ac, sc;
  root_cells(dtb, &ac, &sc);
  struct walk w = {dtb, 0, 0, 0, 0, 0, 0};
  int t, in_memory = 0;
  while ((t = next(&w)) != FDT_END) {
    if (t == FDT_BEGIN_NODE && w.depth == 2)
      in_memory = is_node(w.name, "memory");
    else if (t == FDT_END_NODE && w.depth < 2)
      in_memory = 0;
    else if (t == FDT_PROP && in_memory && w.depth == 2 && !strcmp(w.name, "reg") && w.len >= 4 * (ac + sc)) {
      *base = cells_value(w.value, ac);
      *size = cells_value(w.value + 4 * ac, sc);
      return 0;
    }
  }
  return -1;
}

// --- building the new nodes ---------------------------------------------------------

// The bytes to insert, and the names they need that the strings block lacks.
struct edit {
  uint8 *dtb;
  uint8 node[256];
  uint32 n;
  char strings[64];
  uint32 ns;
};

static void emit32(struct edit *e, uint32 v) {
  put32(e->node + e->n, v);
  e->n += 4;
}

static void emit_name(struct edit *e, const char *name) {
  uint32 len = strlen(name) + 1;
  memset(e->node + e->n, 0, align4(len));
  memcpy(e->node + e->n, name, len);
  e->n += align4(len);
}

// The offset of a property name in the strings block, appending it if missing.
static uint32 string_offset(struct edit *e, const char *name) {
  const char *strings = (const char *)e->dtb + hdr(e->dtb, H_OFF_STRINGS);
  uint32 size = hdr(e->dtb, H_SIZE_STRINGS);
  for (uint32 i = 0; i < size; i += strlen(strings + i) + 1)
    if (!strcmp(strings + i, name))
      return i;
  for (uint32 i = 0; i < e->ns; i += strlen(e->strings + i) + 1)
    if (!strcmp(e->strings + i, name))
      return size + i;
  uint32 at = e->ns;
  memcpy(e->strings + at, name, strlen(name) + 1);
  e->ns += strlen(name) + 1;
  return size + at;
}

static void emit_prop(struct edit *e, const char *name, const uint32 *cells, uint32 count) {
  emit32(e, FDT_PROP);
  emit32(e, 4 * count);
  emit32(e, string_offset(e, name));
  for (uint32 i = 0; i < count; i++)
    emit32(e, cells[i]);
}

// "mmode_resv0@80000000": the node's name (the unit address is the base, in hex).
static void reservation_name(char *name, uint32 base) {
  memcpy(name, "mmode_resv0@", 12);
  for (int i = 0; i < 8; i++)
    name[12 + i] = "0123456789abcdef"[(base >> (28 - 4 * i)) & 15];
  name[20] = 0;
}

// mmode_resv0@80000000 { reg = <base size>; no-map; }, in `ac` and `sc` cells.
static void emit_reservation(struct edit *e, uint32 base, uint32 size, uint32 ac, uint32 sc) {
  char name[32];
  reservation_name(name, base);
  uint32 reg[4] = {0, 0, 0, 0};
  reg[ac - 1] = base;
  reg[ac + sc - 1] = size;
  emit32(e, FDT_BEGIN_NODE);
  emit_name(e, name);
  emit_prop(e, "reg", reg, ac + sc);
  emit_prop(e, "no-map", 0, 0);
  emit32(e, FDT_END_NODE);
}

// Reserve [base, base+size) for the firmware: a child of /reserved-memory, the
// node made if the tree has none.  The tree may grow up to `room_end`.
int fdt_reserve(void *dtb, uint32 base, uint32 size, uint32 room_end) {
  uint32 ac, sc;
  root_cells(dtb, &ac, &sc);
  if (ac < 1 || ac > 2 || sc < 1 || sc > 2)
    return -1;

  // Find where the new bytes go: before /reserved-memory's end if there is one
  // (in its own cell sizes), else before the root's end.
  struct walk w = {dtb, 0, 0, 0, 0, 0, 0};
  uint32 where = 0, rac = ac, rsc = sc;
  int t, in_reserved = 0, found = 0;
  static char name[32];
  reservation_name(name, base);
  while ((t = next(&w)) != FDT_END) {
    if (t == FDT_BEGIN_NODE && w.depth == 2 && is_node(w.name, "reserved-memory"))
      in_reserved = found = 1;
    else if (t == FDT_BEGIN_NODE && in_reserved && w.depth == 3 && !strcmp(w.name, name))
      return 0; // there already (a reboot that kept the tree): nothing to do
    else if (t == FDT_PROP && in_reserved && w.depth == 2 && !strcmp(w.name, "#address-cells"))
      rac = be32(w.value);
    else if (t == FDT_PROP && in_reserved && w.depth == 2 && !strcmp(w.name, "#size-cells"))
      rsc = be32(w.value);
    else if (t == FDT_END_NODE && in_reserved && w.depth == 1) {
      where = w.at, in_reserved = 0;
    } else if (t == FDT_END_NODE && w.depth == 0 && !found)
      where = w.at;
  }
  if (where == 0 || rac < 1 || rac > 2 || rsc < 1 || rsc > 2)
    return -1;

  static struct edit e; // 320 bytes: not on our small stack
  memset(&e, 0, sizeof e);
  e.dtb = dtb;
  if (!found) {
    uint32 acell = ac, scell = sc;
    emit32(&e, FDT_BEGIN_NODE);
    emit_name(&e, "reserved-memory");
    emit_prop(&e, "#address-cells", &acell, 1);
    emit_prop(&e, "#size-cells", &scell, 1);
    emit_prop(&e, "ranges", 0, 0); // child addresses are the root's
    emit_reservation(&e, base, size, ac, sc);
    emit32(&e, FDT_END_NODE);
  } else {
    emit_reservation(&e, base, size, rac, rsc);
  }

  // The new layout: the structure block grows by e.n, the strings block moves up
  // by as much and grows by e.ns.  We handle the order every tool writes
  // (structure, then strings); totalsize stays a multiple of 8.
  uint32 off_struct = hdr(dtb, H_OFF_STRUCT), size_struct = hdr(dtb, H_SIZE_STRUCT);
  uint32 off_strings = hdr(dtb, H_OFF_STRINGS), size_strings = hdr(dtb, H_SIZE_STRINGS);
  if (off_strings < off_struct + size_struct)
    return -1;
  uint32 new_off_strings = off_strings + e.n;
  uint32 end = (new_off_strings + size_strings + e.ns + 7) & ~7u;
  uint32 total = hdr(dtb, H_TOTALSIZE);
  if (end > total)
    total = end;
  if ((uint32)dtb + total > room_end || (uint32)dtb + total < (uint32)dtb)
    return -1;

  uint8 *p = dtb;
  memmove(p + new_off_strings, p + off_strings, size_strings);
  memcpy(p + new_off_strings + size_strings, e.strings, e.ns);
  memset(p + new_off_strings + size_strings + e.ns, 0, end - (new_off_strings + size_strings + e.ns));
  uint32 at = off_struct + where;
  memmove(p + at + e.n, p + at, off_struct + size_struct - at);
  memcpy(p + at, e.node, e.n);
  set_hdr(dtb, H_OFF_STRINGS, new_off_strings);
  set_hdr(dtb, H_SIZE_STRINGS, size_strings + e.ns);
  set_hdr(dtb, H_SIZE_STRUCT, size_struct + e.n);
  set_hdr(dtb, H_TOTALSIZE, total);
  return 0;
}
