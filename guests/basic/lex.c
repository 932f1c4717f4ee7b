// The lexer: a cursor, tp, over the text of the line being interpreted, and
// small "accept" and "expect" steps that move it.  accept_* take a thing if it
// is next and say whether they did; expect_* take it or raise ?SYNTAX ERROR.
//
// As in the BASICs of the time, spaces between things do not matter, and a
// keyword is just its letters: "FORI=1TO9" reads as "FOR I=1 TO 9".  Lines
// are uppercased as they are typed (normalize), so keywords and variables are
// found in capitals, while string literals keep the case they were typed in.

#include "basic.h"

const char *tp;

static int is_digit(int c)  { return c >= '0' && c <= '9'; }
static int is_letter(int c) { return c >= 'A' && c <= 'Z'; }

static void skip_spaces(void)
{
    while (*tp == ' ')
        tp++;
}

// Uppercase a typed line outside its string literals, in place.
void normalize(char *line)
{
    int in_string = 0;
    for (; *line; line++) {
        if (*line == '"')
            in_string = !in_string;
        else if (!in_string && *line >= 'a' && *line <= 'z')
            *line -= 'a' - 'A';
    }
}

int peek(void)
{
    skip_spaces();
    return *tp;
}

int accept_char(int c)
{
    if (peek() != c)
        return 0;
    tp++;
    return 1;
}

void expect_char(int c)
{
    if (!accept_char(c))
        error(E_SYNTAX);
}

int accept_word(const char *word)
{
    skip_spaces();
    int n = 0;
    while (word[n] && tp[n] == word[n])
        n++;
    if (word[n])
        return 0;
    tp += n;
    return 1;
}

void expect_word(const char *word)
{
    if (!accept_word(word))
        error(E_SYNTAX);
}

// A variable is one letter; what follows it may be anything, even a keyword
// ("IFA=BTHEN").
int accept_variable(void)
{
    if (!is_letter(peek()))
        return -1;
    return *tp++ - 'A';
}

int expect_variable(void)
{
    int v = accept_variable();
    if (v < 0)
        error(E_SYNTAX);
    return v;
}

// An unsigned decimal number into *value; ?OVERFLOW past 2147483647.
int accept_number(int *value)
{
    if (!is_digit(peek()))
        return 0;
    int n = 0;
    while (is_digit(*tp)) {
        int digit = *tp++ - '0';
        if (n > (0x7FFFFFFF - digit) / 10)
            error(E_OVERFLOW);
        n = n * 10 + digit;
    }
    *value = n;
    return 1;
}

int at_statement_end(void)
{
    int c = peek();
    return c == 0 || c == ':';
}
