// The READY loop: read a line, and either edit the program with it (it starts
// with a line number) or run it at once (direct mode).  Errors from anywhere
// in the interpreter print their message and come back here, to READY.

#include "basic.h"

jmp_buf ready;

static void banner(void)
{
    print("\n**** TUIVMM BASIC ****\n");
    print("RV32IMA M-MODE, ");
    print_int(program_free());
    print(" BYTES FREE\n\n");
}

// "10 PRINT X" stores line 10, replacing any line 10; "10" alone deletes it.
// The caller saw a digit first.
static void edit(const char *typed)
{
    int number = 0;
    for (; *typed >= '0' && *typed <= '9'; typed++)
        if (number <= MAX_LINE_NUMBER)     // past it, stop counting: it is bad
            number = number * 10 + (*typed - '0');
    if (number > MAX_LINE_NUMBER)
        error(E_LINENUMBER);
    while (*typed == ' ')
        typed++;
    if (*typed == 0)
        program_delete(number);
    else
        program_store(number, typed);
}

// On a line of its own, even after PRINT "X";
static void print_ready(void)
{
    print_newline();
    print("READY.\n");
}

// Trailing spaces mean nothing, and a line of only spaces is empty.
static void trim(char *s)
{
    int n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = 0;
}

void repl(void)
{
    static char typed[LINE_MAX + 1];

    banner();
    clear_state();
    setjmp(ready);              // errors come back here, their message shown
    print_ready();
    for (;;) {
        int n = readline(typed);
        if (n == LINE_BREAK)
            stop_at_break();
        if (n == LINE_TOO_LONG)
            error(E_TOOLONG);
        normalize(typed);
        trim(typed);
        const char *s = typed;
        while (*s == ' ')
            s++;
        if (*s >= '0' && *s <= '9') {
            edit(s);            // quietly: READY stays on the screen
        } else if (*s != 0) {
            execute(s);
            print_ready();
        }
    }
}
