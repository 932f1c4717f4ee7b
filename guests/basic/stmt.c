// The statements that are not about control flow: PRINT, INPUT, LET, LIST,
// PAUSE.  Each starts with tp just past its keyword and leaves it just past
// the statement (exec.c has the contract).

#include "basic.h"

#define ZONE 10                 // PRINT's commas tab to columns 0, 10, 20, ...
#define MAX_INPUTS (LINE_MAX / 2)

// A string literal at tp, printed without its quotes.
static void print_string(void)
{
    expect_char('"');
    const char *end = tp;
    while (*end && *end != '"')
        end++;
    if (*end != '"')
        error(E_SYNTAX);        // not closed: print none of it
    while (tp < end)
        putch(*tp++);
    tp++;
}

// PRINT item {; item | , item} [; | ,]: an item is a string or an expression.
// ';' joins items as they are, ',' tabs to the next zone; either one at the
// end keeps the line open for the next PRINT.
enum flow do_print(void)
{
    for (;;) {
        if (at_statement_end()) {
            putch('\n');
            return GO_ON;
        }
        if (peek() == '"')
            print_string();
        else
            print_int(expr());
        if (accept_char(',')) {
            do
                putch(' ');
            while (column() % ZONE != 0);
        } else if (!accept_char(';')) {
            if (!at_statement_end())
                error(E_SYNTAX);
            continue;           // ends the line
        }
        if (at_statement_end())
            return GO_ON;
    }
}

enum flow do_let(void)
{
    int v = expect_variable();
    expect_char('=');
    vars[v] = expr();
    return GO_ON;
}

// One signed decimal number from *s, moving *s past it; 0 if there is none
// or it does not fit in 32 bits.
static int parse_int(const char **s, int *value)
{
    const char *p = *s;
    while (*p == ' ')
        p++;
    int negative = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    if (*p < '0' || *p > '9')
        return 0;
    uint32 n = 0, most = negative ? 0x80000000u : 0x7FFFFFFFu;
    for (; *p >= '0' && *p <= '9'; p++) {
        uint32 digit = *p - '0';
        if (n > (most - digit) / 10)
            return 0;
        n = n * 10 + digit;
    }
    while (*p == ' ')
        p++;
    *value = negative ? (int)-n : (int)n;
    *s = p;
    return 1;
}

// INPUT ["prompt";] v {, v}: ask "? " and read one number per variable, on
// one line, separated by commas.  Anything else asks again.
enum flow do_input(void)
{
    static char typed[LINE_MAX + 1];
    int list[MAX_INPUTS], values[MAX_INPUTS], count = 0;

    if (peek() == '"') {
        print_string();
        expect_char(';');
    }
    do {
        if (count == MAX_INPUTS)
            error(E_SYNTAX);
        list[count++] = expect_variable();
    } while (accept_char(','));
    if (!at_statement_end())
        error(E_SYNTAX);

    for (;;) {
        print("? ");
        int n = readline(typed);
        if (n == LINE_BREAK)
            stop_at_break();
        if (n == LINE_TOO_LONG)
            error(E_TOOLONG);
        const char *s = typed;
        int i = 0;
        while (i < count && parse_int(&s, &values[i])) {
            i++;
            if (i < count && *s == ',')
                s++;            // and on to the next number
            else
                break;
        }
        if (i == count && *s == 0)
            break;
        print("?REDO FROM START\n");
    }
    for (int i = 0; i < count; i++)
        vars[list[i]] = values[i];
    return GO_ON;
}

// LIST [from][-[to]]: the lines in that range, all of them by default.
enum flow do_list(void)
{
    int from = 0, to = MAX_LINE_NUMBER;
    if (accept_number(&from))
        to = from;
    if (accept_char('-')) {
        to = MAX_LINE_NUMBER;
        accept_number(&to);
    }
    for (struct line *l = line_at_or_after(from); l && line_number(l) <= to; l = line_next(l)) {
        check_break();
        print_int(line_number(l));
        putch(' ');
        print(line_text(l));
        putch('\n');
    }
    return GO_ON;
}

// PAUSE n: sleep for n ticks (hundredths of a second), or until Ctrl-C.
enum flow do_pause(void)
{
    int n = expr();
    if (n < 0)
        error(E_QUANTITY);
    uint32 start = timer_ticks();
    intr_off();                 // test and sleep with no interrupt slipping between
    timer_alarm(start, n);      // the timer wakes us when the time is up; a key may too
    while (timer_ticks() - start < (uint32)n && !uart_break_pending()) {
        wfi();
        intr_on();
        intr_off();
    }
    timer_alarm_off();
    intr_on();
    check_break();
    return GO_ON;
}
