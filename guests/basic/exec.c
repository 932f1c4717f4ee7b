// Running statements.  The interpreter works straight from the text: tp
// (lex.c) walks the current line, which is either a program line (curline)
// or the line just typed at READY (curline == 0, "direct mode").
//
// Each statement leaves tp just after itself and says what it did to control
// flow: GO_ON to the next statement (after a ':' or on the next line), JUMPED
// to a place it has set, or STOPPED.  GOSUB and FOR remember a place -- the
// line and tp -- to come back to; the text they point into cannot move while
// anything runs (program.c).
//
// Errors print their message and jump back to the READY loop (repl.c).

#include "basic.h"

#define MAX_GOSUBS 64

struct place {
    struct line *line;          // 0: the direct line
    const char *tp;
};

static struct line *curline;
static struct place gosubs[MAX_GOSUBS];
static int ngosubs;
static struct {
    int var, limit, step;
    struct place body;          // just after the FOR statement
} fors[26];                     // a variable is in at most one loop
static int nfors;

// End a stop message with the line it happened in, if any, and go back to
// READY in direct mode.
static void __attribute__((noreturn)) back_to_ready(void)
{
    if (curline) {
        print(" IN ");
        print_int(line_number(curline));
    }
    putch('\n');
    curline = 0;
    longjmp(ready, 1);
}

// ?MESSAGE [IN line]
void error(const char *message)
{
    print_newline();
    putch('?');
    print(message);
    back_to_ready();
}

// ?MESSAGE n [IN line], as in ?UNDEFINED LINE 100 IN 20
void error_with(const char *message, int n)
{
    print_newline();
    putch('?');
    print(message);
    putch(' ');
    print_int(n);
    back_to_ready();
}

// Ctrl-C (already taken from the keys): BREAK [IN line]
void stop_at_break(void)
{
    print_newline();
    print("BREAK");
    back_to_ready();
}

// Stop if Ctrl-C was typed, dropping the keys typed before it.
void check_break(void)
{
    if (uart_break_pending()) {
        uart_take_break();
        stop_at_break();
    }
}

void clear_state(void)
{
    memset(vars, 0, sizeof vars);
    ngosubs = 0;
    nfors = 0;
}

static struct line *find(int number)
{
    struct line *l = line_find(number);
    if (l == 0)
        error_with(E_UNDEFINED, number);
    return l;
}

static enum flow go(struct line *l)
{
    curline = l;
    tp = line_text(l);
    return JUMPED;
}

// RUN [from]: forget the variables and start at line `from` (the first if < 0).
static enum flow run_program(int from)
{
    clear_state();
    struct line *l = from < 0 ? line_first() : find(from);
    return l ? go(l) : STOPPED;
}

static enum flow do_goto(void)
{
    return go(find(expr()));
}

static enum flow do_gosub(void)
{
    struct line *l = find(expr());
    if (ngosubs == MAX_GOSUBS)
        error(E_GOSUBS);
    gosubs[ngosubs++] = (struct place){curline, tp};
    return go(l);
}

static enum flow do_return(void)
{
    if (ngosubs == 0)
        error(E_RETURN);
    struct place back = gosubs[--ngosubs];
    curline = back.line;
    tp = back.tp;
    return GO_ON;               // with whatever followed the GOSUB
}

static enum flow statement(void);

// IF cond THEN statement, or IF cond THEN line.  When false, the rest of the
// line is skipped, statements after ':' included.
static enum flow do_if(void)
{
    int cond = expr();
    expect_word("THEN");
    int n;
    if (!cond) {
        tp += strlen(tp);
        return GO_ON;
    }
    if (accept_number(&n))
        return go(find(n));
    return statement();
}

// FOR v = first TO limit [STEP step].  The body always runs at least once,
// as in Microsoft's BASICs; NEXT decides whether to go round again.
static enum flow do_for(void)
{
    int v = expect_variable();
    expect_char('=');
    int first = expr();
    expect_word("TO");
    int limit = expr();
    int step = accept_word("STEP") ? expr() : 1;

    int i = 0;                  // a new FOR on v ends v's old loop and those inside it
    while (i < nfors && fors[i].var != v)
        i++;
    nfors = i;
    vars[v] = first;
    fors[nfors].var = v;
    fors[nfors].limit = limit;
    fors[nfors].step = step;
    fors[nfors].body = (struct place){curline, tp};
    nfors++;
    return GO_ON;
}

// NEXT [v]: step the innermost loop (or v's, ending the loops inside it).
static enum flow do_next(void)
{
    int v = accept_variable();
    int i = nfors - 1;
    while (v >= 0 && i >= 0 && fors[i].var != v)
        i--;
    if (i < 0)
        error(E_NEXT);
    nfors = i + 1;

    int value, step = fors[i].step, limit = fors[i].limit;
    if (__builtin_add_overflow(vars[fors[i].var], step, &value)) {
        nfors--;                // stepped past every int: the loop is over
        return GO_ON;
    }
    vars[fors[i].var] = value;
    if (step >= 0 ? value > limit : value < limit) {
        nfors--;
        return GO_ON;
    }
    curline = fors[i].body.line;
    tp = fors[i].body.tp;
    return GO_ON;
}

static enum flow do_end(void)  { return STOPPED; }
static enum flow do_rem(void)  { tp += strlen(tp); return GO_ON; }
static enum flow do_bye(void)  { power_off(0); }

static enum flow do_run(void)
{
    int from;
    return run_program(accept_number(&from) ? from : -1);
}

static enum flow do_new(void)
{
    program_new();
    clear_state();
    curline = 0;                // its text is gone
    return STOPPED;
}

static const struct {
    const char *word;
    enum flow (*run)(void);
} statements[] = {
    {"PRINT", do_print}, {"LET", do_let},       {"IF", do_if},
    {"GOTO", do_goto},   {"GOSUB", do_gosub},   {"RETURN", do_return},
    {"FOR", do_for},     {"NEXT", do_next},     {"INPUT", do_input},
    {"END", do_end},     {"REM", do_rem},       {"PAUSE", do_pause},
    {"RUN", do_run},     {"LIST", do_list},     {"NEW", do_new},
    {"BYE", do_bye},
};

// One statement at tp.  "A=1" is LET without the word.
static enum flow statement(void)
{
    if (at_statement_end())
        return GO_ON;           // an empty statement, as in "10 :"
    for (unsigned i = 0; i < sizeof statements / sizeof statements[0]; i++)
        if (accept_word(statements[i].word))
            return statements[i].run();
    return do_let();
}

// Run a line typed at READY, and the program if it starts one (RUN, GOTO).
// Ctrl-C is looked for before every statement but the first: a command always
// starts, even when Ctrl-C was typed ahead of it (as a burst of input on QEMU
// may be), and "RUN" then stops in the program's first line, whenever the key
// came.
void execute(const char *direct_line)
{
    curline = 0;
    ngosubs = 0;                // places saved by an earlier command may be stale
    nfors = 0;
    tp = direct_line;
    for (int first = 1;; first = 0) {
        if (!first)
            check_break();
        enum flow flow = statement();
        if (flow == STOPPED)
            break;
        if (flow == JUMPED)
            continue;
        if (accept_char(':'))
            continue;
        if (peek() != 0)
            error(E_SYNTAX);
        if (curline == 0 || (curline = line_next(curline)) == 0)
            break;              // the end of the direct line, or of the program
        tp = line_text(curline);
    }
    curline = 0;                // back in direct mode
}
