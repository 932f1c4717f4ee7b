// Everything the files of basic share: the machine below (uart, plic, timer,
// trap), the console, and the interpreter's pieces (lex, expr, program, exec).
//
// basic is a 1980s-style home computer: one program in memory, numbered lines,
// integer variables A-Z, and a READY prompt.  It runs in M-mode only, with no
// paging, takes keys by interrupt and sleeps in WFI while it waits for them.
#pragma once

#include "memlayout.h"
#include "riscv.h"

#define REG8(a)  (*(volatile unsigned char *)(a))
#define REG32(a) (*(volatile uint32 *)(a))

// mie bits and interrupt numbers (privileged spec 3.1.9, table 3.6).
#define MIE_MTIE      (1u << 7)         // machine timer
#define MIE_MEIE      (1u << 11)        // machine external (the PLIC)
#define IRQ_M_TIMER   7
#define IRQ_M_EXT     11

static inline void intr_on(void)  { asm volatile("csrs mstatus, %0" : : "r"(MSTATUS_MIE) : "memory"); }
static inline void intr_off(void) { asm volatile("csrc mstatus, %0" : : "r"(MSTATUS_MIE) : "memory"); }
// Sleep until an interrupt enabled in mie is pending; that wakes the hart even
// with mstatus.MIE clear (3.3.3), so callers test-and-sleep with interrupts off.
static inline void wfi(void)      { asm volatile("wfi" : : : "memory"); }

#define CTRL_C 0x03

// ---- main.c ----
void panic(const char *why) __attribute__((noreturn));
void power_off(int failed) __attribute__((noreturn));

// ---- uart.c: NS16550A, receive by interrupt into a ring ----
void uart_init(void);
void uart_putc(int c);
void uart_intr(void);
int  uart_getc(void);                   // next key, sleeping until there is one
int  uart_break_pending(void);          // a Ctrl-C is waiting in the ring
void uart_take_break(void);             // drop keys up to and including it

// ---- plic.c ----
void plic_init(void);
int  plic_claim(void);
void plic_complete(int irq);

// ---- timer.c: CLINT, time in ticks of 1/100 s, and an alarm ----
#define TICK_HZ 100
void   timer_init(void);
uint32 timer_ticks(void);               // ticks since boot, read from mtime
void   timer_alarm(uint32 start, uint32 n); // interrupt n ticks after tick start
void   timer_alarm_off(void);
void   timer_intr(void);

// ---- trap.c ----
void trap_init(void);

// ---- lib.c ----
void *memset(void *dst, int c, unsigned n);
void *memcpy(void *dst, const void *src, unsigned n);
void *memmove(void *dst, const void *src, unsigned n);
int   strlen(const char *s);

// ---- console.c: output with a column count, and the line editor ----
#define LINE_MAX    80                  // characters in a typed line
#define LINE_BREAK    (-1)              // readline: Ctrl-C
#define LINE_TOO_LONG (-2)              // readline: more than LINE_MAX characters
void putch(int c);
void print(const char *s);
void print_int(int n);
void print_newline(void);               // end the line, unless at its start
int  column(void);
int  readline(char *buf);               // buf holds LINE_MAX + 1

// ---- jump.S ----
typedef uint32 jmp_buf[14];
int  setjmp(jmp_buf env) __attribute__((returns_twice));
void longjmp(jmp_buf env, int value) __attribute__((noreturn));

// ---- lex.c: the interpreter's cursor over program text ----
extern const char *tp;                  // next character to interpret
void normalize(char *line);
int  peek(void);                        // next non-space character, not taken
int  accept_char(int c);
void expect_char(int c);
int  accept_word(const char *word);
void expect_word(const char *word);
int  accept_variable(void);             // 0..25 for A..Z, or -1
int  expect_variable(void);
int  accept_number(int *value);
int  at_statement_end(void);            // ':' or the end of the line

// ---- expr.c ----
extern int vars[26];
int  expr(void);

// ---- program.c: the numbered lines, in one byte arena ----
#define PROGRAM_BYTES 8192
#define MAX_LINE_NUMBER 65535
struct line;
struct line *line_first(void);
struct line *line_next(struct line *l);
struct line *line_find(int number);     // exactly `number`, or 0
struct line *line_at_or_after(int number);
int   line_number(struct line *l);
char *line_text(struct line *l);
void  program_store(int number, const char *text);
void  program_delete(int number);
void  program_new(void);
int   program_free(void);

// ---- exec.c: running statements ----
enum flow { GO_ON, JUMPED, STOPPED };   // what a statement did to control flow
void execute(const char *direct_line);
void error(const char *message) __attribute__((noreturn));
void error_with(const char *message, int n) __attribute__((noreturn));
void stop_at_break(void) __attribute__((noreturn));
void check_break(void);
void clear_state(void);

// ---- stmt.c: the statements that are not control flow ----
enum flow do_print(void);
enum flow do_input(void);
enum flow do_let(void);
enum flow do_list(void);
enum flow do_pause(void);

// ---- repl.c ----
extern jmp_buf ready;                   // error() lands here
void repl(void) __attribute__((noreturn));

// Error messages, as the user sees them after the "?".
#define E_SYNTAX      "SYNTAX ERROR"
#define E_DIVZERO     "DIVISION BY ZERO"
#define E_OVERFLOW    "OVERFLOW"
#define E_UNDEFINED   "UNDEFINED LINE"
#define E_RETURN      "RETURN WITHOUT GOSUB"
#define E_NEXT        "NEXT WITHOUT FOR"
#define E_GOSUBS      "TOO MANY GOSUBS"
#define E_MEMORY      "OUT OF MEMORY"
#define E_TOOLONG     "LINE TOO LONG"
#define E_LINENUMBER  "BAD LINE NUMBER"
#define E_COMPLEX     "EXPRESSION TOO COMPLEX"
#define E_QUANTITY    "ILLEGAL QUANTITY"
