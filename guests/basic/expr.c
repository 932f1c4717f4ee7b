// Expressions: 32-bit signed integers, evaluated as they are parsed (recursive
// descent, one function per precedence level, loosest first):
//
//   expr     := and {OR and}
//   and      := not {AND not}
//   not      := NOT not | compare
//   compare  := sum {(= <> < > <= >=) sum}
//   sum      := product {(+ -) product}
//   product  := unary {(* / MOD) unary}
//   unary    := (- +) unary | primary
//   primary  := number | variable | TICKS | ABS(expr) | RND(expr) | (expr)
//
// Comparisons and logic give 1 for true and 0 for false; any nonzero value is
// true.  Arithmetic that would not fit in 32 bits stops with ?OVERFLOW rather
// than wrapping, and / and MOD truncate towards zero, as C does.

#include "basic.h"

#define MAX_DEPTH 24            // nesting of (), - and NOT: bounds the C stack

int vars[26];
static int depth;
static uint32 seed = 20250101;  // RND's state: fixed, so runs repeat exactly

static int or_expr(void);

static void descend(void)
{
    if (++depth > MAX_DEPTH)
        error(E_COMPLEX);
}

static int checked_add(int a, int b)
{
    int r;
    if (__builtin_add_overflow(a, b, &r))
        error(E_OVERFLOW);
    return r;
}

static int checked_sub(int a, int b)
{
    int r;
    if (__builtin_sub_overflow(a, b, &r))
        error(E_OVERFLOW);
    return r;
}

static int checked_mul(int a, int b)
{
    int r;
    if (__builtin_mul_overflow(a, b, &r))
        error(E_OVERFLOW);
    return r;
}

// a / b or a MOD b; -2147483648 / -1 is the one quotient that does not fit.
static int divide(int a, int b, int want_remainder)
{
    if (b == 0)
        error(E_DIVZERO);
    if (b == -1 && a == (int)0x80000000)
        error(E_OVERFLOW);
    return want_remainder ? a % b : a / b;
}

// RND(n): 1..n, from a linear congruential generator (Numerical Recipes').
static int rnd(int n)
{
    if (n < 1)
        error(E_QUANTITY);
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) % (uint32)n + 1;
}

static int parenthesized(void)
{
    expect_char('(');
    descend();
    int v = or_expr();
    depth--;
    expect_char(')');
    return v;
}

static int primary(void)
{
    int v;
    if (accept_number(&v))
        return v;
    if (accept_word("TICKS"))
        return timer_ticks();
    if (accept_word("ABS")) {
        v = parenthesized();
        return v < 0 ? checked_sub(0, v) : v;
    }
    if (accept_word("RND"))
        return rnd(parenthesized());
    if ((v = accept_variable()) >= 0)
        return vars[v];
    if (peek() == '(')
        return parenthesized();
    error(E_SYNTAX);
}

static int unary(void)
{
    if (accept_char('-')) {
        descend();
        int v = checked_sub(0, unary());
        depth--;
        return v;
    }
    if (accept_char('+'))
        return unary();         // + binds nothing; the loop costs no stack
    return primary();
}

static int product(void)
{
    int v = unary();
    for (;;) {
        if (accept_char('*'))
            v = checked_mul(v, unary());
        else if (accept_char('/'))
            v = divide(v, unary(), 0);
        else if (accept_word("MOD"))
            v = divide(v, unary(), 1);
        else
            return v;
    }
}

static int sum(void)
{
    int v = product();
    for (;;) {
        if (accept_char('+'))
            v = checked_add(v, product());
        else if (accept_char('-'))
            v = checked_sub(v, product());
        else
            return v;
    }
}

// The two-character operators are tried before their one-character prefixes.
static int compare(void)
{
    int v = sum();
    for (;;) {
        if (accept_word("<>"))
            v = v != sum();
        else if (accept_word("<="))
            v = v <= sum();
        else if (accept_word(">="))
            v = v >= sum();
        else if (accept_char('<'))
            v = v < sum();
        else if (accept_char('>'))
            v = v > sum();
        else if (accept_char('='))
            v = v == sum();
        else
            return v;
    }
}

static int not_expr(void)
{
    if (accept_word("NOT")) {
        descend();
        int v = !not_expr();
        depth--;
        return v;
    }
    return compare();
}

static int and_expr(void)
{
    int v = not_expr();
    while (accept_word("AND")) {
        int w = not_expr();     // both sides are evaluated, always
        v = v && w;
    }
    return v;
}

static int or_expr(void)
{
    int v = and_expr();
    while (accept_word("OR")) {
        int w = and_expr();
        v = v || w;
    }
    return v;
}

// One whole expression at tp.
int expr(void)
{
    depth = 0;                  // an error may have left it anywhere
    return or_expr();
}
