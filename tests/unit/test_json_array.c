/*
 * test_json_array.c - a record that is a JSON array of objects seen as its
 * objects (parsers/json_array.c): CloudEvents batches as the HTTP binding
 * ships them, strings that hold brackets and escaped quotes, and the
 * records that must stay whole (log lines that start with '[', truncated
 * or empty batches, arrays of non-objects, trailing bytes).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "parsers/json_array.h"

static size_t count(const char *s) { return cr_json_array_count(s, strlen(s)); }

TestSuite(json_array);

Test(json_array, a_cloudevents_batch_is_its_events)
{
    const char *b =
        "[\n    {\n        \"specversion\" : \"1.0\",\n        \"type\" : "
        "\"com.example.someevent\",\n        \"data\" : { \"a\": [1, {\"b\": \"}]\"}] "
        "}\n    },\n    {\n        \"specversion\" : \"1.0\", \"id\": \"x\\\"}\" }\n]\n";
    cr_assert_eq(count(b), 2);
    size_t pos = 0, off, len;
    cr_assert(cr_json_array_next(b, strlen(b), &pos, &off, &len));
    cr_assert_eq(b[off], '{');
    cr_assert_eq(b[off + len - 1], '}');
    cr_assert(strstr(b + off, "someevent") < b + off + len);
    cr_assert(cr_json_array_next(b, strlen(b), &pos, &off, &len));
    cr_assert_eq(
        strncmp(b + off, "{\n        \"specversion\" : \"1.0\", \"id\": \"x\\\"}\" }", len), 0,
        "%.*s", (int)len, b + off);
    cr_assert_not(cr_json_array_next(b, strlen(b), &pos, &off, &len));
}

Test(json_array, one_object_and_tight_spacing)
{
    cr_assert_eq(count("[{}]"), 1);
    cr_assert_eq(count("  [{\"a\":1},{\"b\":2},{\"c\":[3]}]  "), 3);
}

Test(json_array, records_that_stay_whole)
{
    cr_assert_eq(count("[2026-03-02 08:00:00] INFO app started"), 0);
    cr_assert_eq(count("[]"), 0, "an empty batch is a record of its own, visible");
    cr_assert_eq(count("[1, 2]"), 0);
    cr_assert_eq(count("[{\"a\":1}, 2]"), 0);
    cr_assert_eq(count("[{\"a\":1},]"), 0);
    cr_assert_eq(count("[{\"a\":1}] trailing"), 0);
    cr_assert_eq(count("[{\"a\":\"unterminated}]"), 0);
    cr_assert_eq(count("[{\"a\":1}, {\"b\":"), 0, "a truncated batch");
    cr_assert_eq(count("[{\"a\":1]}]"), 0, "a bracket closing a brace");
    cr_assert_eq(count("{\"a\":1}"), 0, "an object is not an array");
    cr_assert_eq(count(""), 0);
    /* valid JSON nested 600 deep: past the limit, not followed */
    char deep[4000];
    size_t n = 0;
    deep[n++] = '[';
    for (int i = 0; i < 600; i++)
        memcpy(deep + n, "{\"a\":", 5), n += 5;
    deep[n++] = '1';
    for (int i = 0; i < 600; i++)
        deep[n++] = '}';
    deep[n++] = ']';
    deep[n] = 0;
    cr_assert_eq(count(deep), 0);
}

Test(json_array, a_broken_element_is_still_split_out)
{
    /* structurally an array of objects; the second object is bad JSON, which
     * is its own parse error later, not the others' */
    cr_assert_eq(count("[{\"a\":1},{\"b\":},{\"c\":3}]"), 3);
}
