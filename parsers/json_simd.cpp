/*
 * json_simd.cpp - extern "C" shim over the simdjson DOM API (json_simd.h).
 *
 * Why DOM and not On-Demand: json_event.c asks a dozen paths of each
 * document in no particular order, and On-Demand rewinds per lookup
 * (measured in reference/ecosystem.md 6.1: DOM is faster for this access
 * pattern). One simdjson::dom::parser lives in each handle and is reused,
 * so its tape and string buffers grow to the largest record seen and then
 * stay; the input is copied into our own padded buffer (simdjson reads up
 * to SIMDJSON_PADDING bytes past the end, and our records are slices of a
 * larger batch that we must not read past).
 *
 * No exceptions cross into C: everything uses the error-code API, and the
 * few allocations are wrapped so that std::bad_alloc becomes an error.
 */
#include "parsers/json_simd.h"

#include <simdjson.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

namespace
{

/* Room for the rendered numbers/bools of one record: 64 fields of 32 bytes. */
constexpr size_t CR_JSON_SCRATCH = 16384; /* numbers and container texts of one record */

} // namespace

struct cr_json {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    bool ok = false;
    char *buf = nullptr; /* padded copy of the input */
    size_t cap = 0;
    char scratch[CR_JSON_SCRATCH];
    size_t scratch_used = 0;
};

extern "C" struct cr_json *cr_json_new(void) { return new (std::nothrow) cr_json(); }

extern "C" void cr_json_free(struct cr_json *j)
{
    if (!j)
        return;
    std::free(j->buf);
    delete j;
}

extern "C" int cr_json_parse(struct cr_json *j, const char *buf, size_t len)
{
    j->ok = false;
    j->scratch_used = 0;
    if (len + simdjson::SIMDJSON_PADDING > j->cap) {
        /* Grow geometrically so a stream of slightly larger records does not
         * reallocate each time. */
        size_t ncap = j->cap ? j->cap : 4096;
        while (ncap < len + simdjson::SIMDJSON_PADDING)
            ncap *= 2;
        char *nb = static_cast<char *>(std::realloc(j->buf, ncap));
        if (!nb)
            return -1;
        j->buf = nb;
        j->cap = ncap;
    }
    std::memcpy(j->buf, buf, len);
    std::memset(j->buf + len, 0, simdjson::SIMDJSON_PADDING);
    try {
        simdjson::dom::element el;
        if (j->parser.parse(j->buf, len, false).get(el) != simdjson::SUCCESS)
            return -1;
        if (el.type() != simdjson::dom::element_type::OBJECT)
            return -1;
        j->root = el;
        j->ok = true;
        return 0;
    } catch (...) {
        /* Only std::bad_alloc from growing the parser's buffers can land here. */
        return -1;
    }
}

/* Render into the scratch area; NULL when it is exhausted (the caller still
 * gets the typed value). */
static const char *cr_json_render(struct cr_json *j, const char *fmt, size_t *len, ...)
{
    size_t room = CR_JSON_SCRATCH - j->scratch_used;
    if (room < 32)
        return nullptr;
    char *dst = j->scratch + j->scratch_used;
    va_list ap;
    va_start(ap, len);
    int n = std::vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n < 0 || static_cast<size_t>(n) >= room)
        return nullptr;
    j->scratch_used += static_cast<size_t>(n) + 1;
    *len = static_cast<size_t>(n);
    return dst;
}

static enum cr_json_type cr_json_fill(struct cr_json *j, simdjson::dom::element el,
                                      struct cr_json_val *out)
{
    using simdjson::dom::element_type;
    out->type = CR_JSON_MISSING;
    out->s = nullptr;
    out->len = 0;
    out->i = 0;
    out->d = 0;
    switch (el.type()) {
    case element_type::STRING: {
        std::string_view sv;
        if (el.get_string().get(sv) != simdjson::SUCCESS)
            return out->type = CR_JSON_MISSING;
        out->type = CR_JSON_STRING;
        out->s = sv.data();
        out->len = sv.size();
        break;
    }
    case element_type::INT64: {
        int64_t v = 0;
        if (el.get_int64().get(v) != simdjson::SUCCESS)
            return out->type = CR_JSON_MISSING;
        out->type = CR_JSON_INT;
        out->i = v;
        out->d = static_cast<double>(v);
        out->s = cr_json_render(j, "%lld", &out->len, static_cast<long long>(v));
        break;
    }
    case element_type::UINT64: {
        uint64_t v = 0;
        if (el.get_uint64().get(v) != simdjson::SUCCESS)
            return out->type = CR_JSON_MISSING;
        out->type = CR_JSON_DOUBLE;
        out->d = static_cast<double>(v);
        out->s = cr_json_render(j, "%llu", &out->len, static_cast<unsigned long long>(v));
        break;
    }
    case element_type::DOUBLE: {
        double v = 0;
        if (el.get_double().get(v) != simdjson::SUCCESS)
            return out->type = CR_JSON_MISSING;
        out->type = CR_JSON_DOUBLE;
        out->d = v;
        out->i = static_cast<int64_t>(v > 9.2e18 || v < -9.2e18 ? 0 : v);
        out->s = cr_json_render(j, "%.17g", &out->len, v);
        break;
    }
    case element_type::BOOL: {
        bool v = false;
        if (el.get_bool().get(v) != simdjson::SUCCESS)
            return out->type = CR_JSON_MISSING;
        out->type = CR_JSON_BOOL;
        out->i = v;
        out->s = v ? "true" : "false";
        out->len = v ? 4 : 5;
        break;
    }
    case element_type::NULL_VALUE:
        out->type = CR_JSON_NULL;
        break;
    case element_type::OBJECT:
        out->type = CR_JSON_OBJECT;
        break;
    case element_type::ARRAY:
        out->type = CR_JSON_ARRAY;
        break;
    }
    return out->type;
}

/* One step down: a key of an object, or an index of an array. */
static bool cr_json_step(simdjson::dom::element cur, const char *seg, size_t n,
                         simdjson::dom::element *next)
{
    using simdjson::dom::element_type;
    element_type t = cur.type();
    if (t == element_type::OBJECT) {
        simdjson::dom::object obj;
        if (cur.get_object().get(obj) != simdjson::SUCCESS)
            return false;
        /* at_key compares the raw key; escaped keys in audit logs are rare
         * enough that this is the right trade. */
        return obj.at_key(std::string_view(seg, n)).get(*next) == simdjson::SUCCESS;
    }
    if (t == element_type::ARRAY) {
        if (n == 0 || n > 9)
            return false;
        size_t idx = 0;
        for (size_t i = 0; i < n; i++) {
            if (seg[i] < '0' || seg[i] > '9')
                return false;
            idx = idx * 10 + static_cast<size_t>(seg[i] - '0');
        }
        simdjson::dom::array arr;
        if (cur.get_array().get(arr) != simdjson::SUCCESS)
            return false;
        return arr.at(idx).get(*next) == simdjson::SUCCESS;
    }
    return false;
}

static bool cr_json_walk(simdjson::dom::element cur, const char *p, size_t n,
                         simdjson::dom::element *found)
{
    /* Try the shortest segment first (the common nested case); on a miss,
     * extend it through the next dot so flat keys like "host.name" or
     * "authorization.k8s.io/decision" are found too. */
    size_t end = 0;
    for (;;) {
        while (end < n && p[end] != '.')
            end++;
        simdjson::dom::element next;
        if (cr_json_step(cur, p, end, &next)) {
            if (end == n) {
                *found = next;
                return true;
            }
            if (cr_json_walk(next, p + end + 1, n - end - 1, found))
                return true;
        }
        if (end == n)
            return false;
        end++;
    }
}

/* The element at path, its value filled into out; false (out MISSING) when
 * absent. */
static bool cr_json_lookup(struct cr_json *j, const char *path, size_t path_len,
                           simdjson::dom::element *el, struct cr_json_val *out)
{
    out->type = CR_JSON_MISSING;
    out->s = nullptr;
    out->len = 0;
    if (!j->ok || path_len == 0 || !cr_json_walk(j->root, path, path_len, el))
        return false;
    cr_json_fill(j, *el, out);
    return true;
}

extern "C" enum cr_json_type cr_json_get(struct cr_json *j, const char *path, size_t path_len,
                                         struct cr_json_val *out)
{
    simdjson::dom::element el;
    cr_json_lookup(j, path, path_len, &el, out);
    return out->type;
}

/* Compact JSON text of el appended at dst[*at] (strings as their decoded
 * bytes between quotes, unescaped: the text is for matching, not for
 * parsing back); false when it does not fit in cap. */
static bool cr_json_text_el(simdjson::dom::element el, char *dst, size_t cap, size_t *at, int depth)
{
    using simdjson::dom::element_type;
    auto put = [&](const char *s, size_t n) {
        if (*at + n > cap)
            return false;
        memcpy(dst + *at, s, n);
        *at += n;
        return true;
    };
    auto quoted = [&](std::string_view sv) {
        return put("\"", 1) && put(sv.data(), sv.size()) && put("\"", 1);
    };
    if (depth > 24)
        return false;
    switch (el.type()) {
    case element_type::OBJECT: {
        bool first = true;
        if (!put("{", 1))
            return false;
        for (auto field : simdjson::dom::object(el)) {
            if ((!first && !put(",", 1)) || !quoted(field.key) || !put(":", 1) ||
                !cr_json_text_el(field.value, dst, cap, at, depth + 1))
                return false;
            first = false;
        }
        return put("}", 1);
    }
    case element_type::ARRAY: {
        bool first = true;
        if (!put("[", 1))
            return false;
        for (auto item : simdjson::dom::array(el)) {
            if ((!first && !put(",", 1)) || !cr_json_text_el(item, dst, cap, at, depth + 1))
                return false;
            first = false;
        }
        return put("]", 1);
    }
    case element_type::STRING:
        return quoted(std::string_view(el));
    case element_type::NULL_VALUE:
        return put("null", 4);
    case element_type::BOOL:
        return bool(el) ? put("true", 4) : put("false", 5);
    default: {
        char num[32];
        int n = el.is_int64() ? snprintf(num, sizeof num, "%lld", (long long)int64_t(el))
                : el.is_uint64()
                    ? snprintf(num, sizeof num, "%llu", (unsigned long long)uint64_t(el))
                    : snprintf(num, sizeof num, "%.17g", double(el));
        return n > 0 && put(num, (size_t)n);
    }
    }
}

/* out (filled from el) plus the text of a container. */
static enum cr_json_type cr_json_text_of(struct cr_json *j, simdjson::dom::element el,
                                         struct cr_json_val *out)
{
    enum cr_json_type t = out->type;
    if (t != CR_JSON_OBJECT && t != CR_JSON_ARRAY)
        return t;
    size_t at = 0, room = CR_JSON_SCRATCH - j->scratch_used;
    char *dst = j->scratch + j->scratch_used;
    if (cr_json_text_el(el, dst, room, &at, 0)) {
        j->scratch_used += at;
        out->s = dst;
        out->len = at;
    }
    return t;
}

extern "C" enum cr_json_type cr_json_get_text(struct cr_json *j, const char *path, size_t path_len,
                                              struct cr_json_val *out)
{
    simdjson::dom::element el;
    if (!cr_json_lookup(j, path, path_len, &el, out))
        return CR_JSON_MISSING;
    return cr_json_text_of(j, el, out);
}

extern "C" enum cr_json_type cr_json_ref_text(struct cr_json *j, const struct cr_json_ref *ref,
                                              struct cr_json_val *out)
{
    simdjson::dom::element el;
    std::memcpy(&el, ref->opaque, sizeof el);
    cr_json_fill(j, el, out);
    return cr_json_text_of(j, el, out);
}

extern "C" void cr_json_foreach_root(struct cr_json *j,
                                     int (*fn)(void *ctx, const char *key, size_t key_len,
                                               const struct cr_json_val *val),
                                     void *ctx)
{
    if (!j->ok)
        return;
    simdjson::dom::object obj;
    if (j->root.get_object().get(obj) != simdjson::SUCCESS)
        return;
    for (auto field : obj) {
        struct cr_json_val v;
        cr_json_fill(j, field.value, &v);
        if (fn(ctx, field.key.data(), field.key.size(), &v))
            return;
    }
}

/* Depth-first over every value (a container before its members), with its
 * dotted path built in a stack
 * buffer; containers deeper than 24 levels or paths past 512 bytes are not
 * visited (no rule names them). */
typedef int (*cr_walk_fn)(void *ctx, const char *path, size_t path_len,
                          const struct cr_json_ref *ref);

static_assert(sizeof(simdjson::dom::element) <= sizeof(struct cr_json_ref),
              "struct cr_json_ref holds a simdjson element");
static_assert(std::is_trivially_copyable<simdjson::dom::element>::value,
              "a simdjson element is copied as bytes");

static int cr_json_call(cr_walk_fn fn, void *ctx, const char *path, size_t len,
                        simdjson::dom::element el)
{
    struct cr_json_ref ref;
    std::memcpy(ref.opaque, &el, sizeof el);
    return fn(ctx, path, len, &ref);
}

static int cr_json_walk_el(simdjson::dom::element el, char *path, size_t len, int depth,
                           cr_walk_fn fn, void *ctx)
{
    const size_t cap = 512;
    if (len && (el.is_object() || el.is_array()) && cr_json_call(fn, ctx, path, len, el))
        return 1; /* a container too: a rule may name it (cr_json_get_text) */
    if (el.is_object()) {
        if (depth >= 24)
            return 0;
        for (auto field : simdjson::dom::object(el)) {
            size_t k = field.key.size(), n = len + (len ? 1 : 0) + k;
            if (n >= cap)
                continue;
            if (len)
                path[len] = '.';
            memcpy(path + len + (len ? 1 : 0), field.key.data(), k);
            if (cr_json_walk_el(field.value, path, n, depth + 1, fn, ctx))
                return 1;
        }
        return 0;
    }
    if (el.is_array()) {
        if (depth >= 24)
            return 0;
        size_t i = 0;
        for (auto item : simdjson::dom::array(el)) {
            char num[24];
            int k = snprintf(num, sizeof num, "%zu", i++);
            size_t n = len + (len ? 1 : 0) + (size_t)k;
            if (n >= cap)
                break;
            if (len)
                path[len] = '.';
            memcpy(path + len + (len ? 1 : 0), num, (size_t)k);
            if (cr_json_walk_el(item, path, n, depth + 1, fn, ctx))
                return 1;
        }
        return 0;
    }
    return cr_json_call(fn, ctx, path, len, el);
}

extern "C" void cr_json_walk(struct cr_json *j, cr_walk_fn fn, void *ctx)
{
    if (!j->ok)
        return;
    char path[512];
    cr_json_walk_el(j->root, path, 0, 0, fn, ctx);
}
