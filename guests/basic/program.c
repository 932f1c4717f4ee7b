// The program: numbered lines kept in order, packed one after another in a
// fixed arena, as the home computers kept them.  A line is
//
//   number (2 bytes, little-endian) | size of the whole record (1 byte) | text | NUL
//
// so the next line starts `size` bytes on.  Storing or deleting a line slides
// the lines after it.  That moves text, so nothing may hold a line across an
// edit: edits happen only between direct commands, and each direct command
// starts the interpreter's stacks afresh (exec.c).

#include "basic.h"

struct line {
    unsigned char number_lo, number_hi;
    unsigned char size;
    char text[];
};

#define HEADER 3                // bytes before the text

static char arena[PROGRAM_BYTES];
static int used;                // bytes of arena holding lines

static struct line *at(int offset)
{
    return (struct line *)&arena[offset];
}

struct line *line_first(void)
{
    return used > 0 ? at(0) : 0;
}

struct line *line_next(struct line *l)
{
    char *next = (char *)l + l->size;
    return next < arena + used ? (struct line *)next : 0;
}

int line_number(struct line *l)
{
    return l->number_lo | l->number_hi << 8;
}

char *line_text(struct line *l)
{
    return l->text;
}

// The first line numbered `number` or more, or 0.
struct line *line_at_or_after(int number)
{
    struct line *l = line_first();
    while (l && line_number(l) < number)
        l = line_next(l);
    return l;
}

struct line *line_find(int number)
{
    struct line *l = line_at_or_after(number);
    return l && line_number(l) == number ? l : 0;
}

// Where a line numbered `number` starts or would start: an arena offset.
static int place_of(int number)
{
    struct line *l = line_at_or_after(number);
    return l ? (char *)l - arena : used;
}

void program_delete(int number)
{
    struct line *l = line_find(number);
    if (l == 0)
        return;
    int offset = (char *)l - arena, size = l->size;
    memmove(&arena[offset], &arena[offset + size], used - offset - size);
    used -= size;
}

// Store `text` (at most LINE_MAX characters) as line `number`, replacing any
// line of that number.  ?OUT OF MEMORY leaves the program as it was.
void program_store(int number, const char *text)
{
    int length = strlen(text);
    int size = HEADER + length + 1;
    struct line *old = line_find(number);
    if (used - (old ? old->size : 0) + size > PROGRAM_BYTES)
        error(E_MEMORY);
    program_delete(number);

    int offset = place_of(number);
    memmove(&arena[offset + size], &arena[offset], used - offset);
    used += size;
    struct line *l = at(offset);
    l->number_lo = number & 0xFF;
    l->number_hi = number >> 8;
    l->size = size;
    memcpy(l->text, text, length + 1);
}

void program_new(void)
{
    used = 0;
}

int program_free(void)
{
    return PROGRAM_BYTES - used;
}
