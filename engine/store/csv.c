/*
 * csv.c - see csv.h.
 */
#include "engine/store/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cr_incident_csv_header[] = "id,first_seen,last_seen,priority,reg_level,category,"
                                      "reg_category,rule,title,entities,event_count,status,"
                                      "tenants\r\n";

void cr_csv_cell(FILE *out, const char *s, int last)
{
    int formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != 0;
    if (formula || strpbrk(s, ",\"\r\n")) {
        fputc('"', out);
        if (formula)
            fputc('\'', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputs(last ? "\r\n" : ",", out);
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Members joined: "k=v;k=v" for an object, "a;b" for an array of strings. */
static void joined(FILE *out, const json_t *v, int last)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) {
        cr_csv_cell(out, "", last);
        return;
    }
    int first = 1;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            fprintf(m, "%s%s=%s", first ? "" : ";", k,
                    json_string_value(x) ? json_string_value(x) : "");
            first = 0;
        }
    } else {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *s = json_string_value(json_array_get(v, i));
            fprintf(m, "%s%s", first ? "" : ";", s ? s : "");
            first = 0;
        }
    }
    fclose(m);
    cr_csv_cell(out, buf ? buf : "", last);
    free(buf);
}

void cr_incident_csv_row(FILE *out, const json_t *inc)
{
    char count[24];
    snprintf(count, sizeof count, "%lld",
             (long long)json_integer_value(json_object_get(inc, "event_count")));
    static const char *const cols[] = {"id",           "first_seen", "last_seen",
                                       "priority",     "reg_level",  "category",
                                       "reg_category", "rule",       "title"};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++)
        cr_csv_cell(out, jstr(inc, cols[i]), 0);
    joined(out, json_object_get(inc, "entities"), 0);
    cr_csv_cell(out, count, 0);
    cr_csv_cell(out, jstr(inc, "status"), 0);
    joined(out, json_object_get(inc, "tenants"), 1);
}
