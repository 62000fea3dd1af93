/* Output for people: the terminal's width, tables that fit it, colour only
 * on a terminal, JSON for scripts, and errors with their codes; see
 * hv_cli.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "hv_cli.h"
#include "hv_registry_expiry.h"

#define S_BOLD "\033[1m"
#define S_RESET "\033[0m"
#define S_MIN_COL 4 /* a column is never cut narrower (the ellipsis and three) */

struct hv_cli_table {
    int n_cols;    /* columns */
    bool header;   /* row 0 is a header (bold on a terminal) */
    char **cells;  /* n_rows x n_cols copies; row 0 is the header */
    size_t n_rows; /* rows, the header included */
    size_t cap;    /* rows allocated */
};

bool hv_cli_colour(void)
{
    const char *no = getenv("NO_COLOR");
    return isatty(STDOUT_FILENO) && (no == NULL || no[0] == '\0');
}

int hv_cli_width(void)
{
    const char *c = getenv("COLUMNS");
    if (c != NULL && c[0] != '\0') {
        long n = strtol(c, NULL, 10);
        if (n > 0 && n < 10000)
            return (int)n;
    }
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}

/* The columns a UTF-8 string takes: one per character (the continuation
 * bytes take none). */
static int s_cols(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The bytes of the first `cols` characters of `s`. */
static size_t s_bytes(const char *s, int cols)
{
    size_t i = 0;
    for (int c = 0; s[i] != '\0'; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (c == cols)
                break;
            c++;
        }
    }
    return i;
}

hv_cli_table *hv_cli_table_new(int n_cols, const char *const *headers)
{
    hv_cli_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->n_cols = n_cols;
    if (headers == NULL)
        return t;
    t->header = true;
    hv_cli_table_add(t, headers);
    if (t->n_rows != 1)
        hv_cli_table_free(&t);
    return t;
}

void hv_cli_table_add(hv_cli_table *t, const char *const *cells)
{
    if (t == NULL)
        return;
    if (t->n_rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **grown = realloc(t->cells, cap * (size_t)t->n_cols * sizeof *grown);
        if (grown == NULL)
            return;
        t->cells = grown;
        t->cap = cap;
    }
    char **row = t->cells + t->n_rows * (size_t)t->n_cols;
    for (int i = 0; i < t->n_cols; i++) {
        const char *c = cells[i] != NULL && cells[i][0] != '\0' ? cells[i] : "-";
        row[i] = strdup(c);
        if (row[i] == NULL) {
            while (i-- > 0)
                free(row[i]);
            return;
        }
    }
    t->n_rows++;
}

void hv_cli_table_print(const hv_cli_table *t)
{
    if (t == NULL)
        return;
    int width[64];
    int n = t->n_cols < 64 ? t->n_cols : 64;
    for (int c = 0; c < n; c++) {
        width[c] = 0;
        for (size_t r = 0; r < t->n_rows; r++) {
            int w = s_cols(t->cells[r * (size_t)t->n_cols + c]);
            width[c] = w > width[c] ? w : width[c];
        }
    }
    /* Too wide: take a column at a time from the widest one. */
    int limit = hv_cli_width(), total = 2 * (n - 1);
    for (int c = 0; c < n; c++)
        total += width[c];
    while (limit > 0 && total > limit) {
        int widest = 0;
        for (int c = 1; c < n; c++)
            widest = width[c] > width[widest] ? c : widest;
        if (width[widest] <= S_MIN_COL)
            break;
        width[widest]--;
        total--;
    }
    bool colour = hv_cli_colour();
    for (size_t r = 0; r < t->n_rows; r++) {
        bool bold = r == 0 && t->header && colour;
        if (bold)
            fputs(S_BOLD, stdout);
        for (int c = 0; c < n; c++) {
            const char *cell = t->cells[r * (size_t)t->n_cols + c];
            int cols = s_cols(cell);
            bool last = c == n - 1;
            if (cols > width[c]) {
                /* Cut, and say so: an id cut this way is still a prefix
                 * the commands take. */
                fwrite(cell, 1, s_bytes(cell, width[c] - 1), stdout);
                fputs("\xe2\x80\xa6", stdout); /* U+2026, the ellipsis */
                cols = width[c];
            } else {
                fputs(cell, stdout);
            }
            if (!last)
                printf("%*s", width[c] - cols + 2, "");
        }
        if (bold)
            fputs(S_RESET, stdout);
        putchar('\n');
    }
}

void hv_cli_table_free(hv_cli_table **tp)
{
    if (tp == NULL || *tp == NULL)
        return;
    hv_cli_table *t = *tp;
    for (size_t i = 0; i < t->n_rows * (size_t)t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
    *tp = NULL;
}

void hv_cli_print_json(const json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
}

void hv_cli_print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

int hv_cli_exit_code(hv_err err)
{
    switch (err) {
    case HV_OK:
        return 0;
    case HV_EIO:
    case HV_ENOMEM:
    case HV_EPERM:
    case HV_ESTORE:
    case HV_ETIMEOUT:
        return EXIT_SYSTEM;
    default:
        return EXIT_REFUSED;
    }
}

int hv_cli_report(const char *what, hv_err err, const hv_errmsg *e)
{
    fprintf(stderr, "haven: %s: %s (%s)%s%s\n", what, hv_strerror(err), hv_errname(err),
            e != NULL && e->text[0] ? ": " : "", e != NULL ? e->text : "");
    return hv_cli_exit_code(err);
}

void hv_cli_registry_expiry(int64_t expires_at, char *out, size_t cap)
{
    out[0] = '\0';
    if (expires_at <= 0)
        return;
    int64_t now = (int64_t)time(NULL), left = expires_at - now;
    char human[32];
    hv_registry_expiry_human(left, human, sizeof human);
    hv_expiry_level level = hv_registry_expiry_level(left);
    if (level == HV_EXPIRY_EXPIRED)
        snprintf(out, cap, ", EXPIRED: get the current registry from the network authority");
    else
        snprintf(out, cap, ", expires in %s%s", human,
                 level == HV_EXPIRY_FINE ? "" : " (get the next one from the network authority)");
}
