/*
 * request.c — field getters of request.h.
 */
#include "request.h"

#include "session.h"

static int field(req_t *r, const char *key, int required)
{
    int i = json_find(&r->doc, 0, key);
    if (i < 0 && required)
        proto_error(r->s, r->ref, "missing_field", "missing field '%s'", key);
    return i;
}

static int wrong(req_t *r, const char *key, const char *want)
{
    proto_error(r->s, r->ref, "wrong_type", "field '%s' must be %s", key, want);
    return REQ_BAD;
}

int req_str(req_t *r, const char *key, int required, char *out, size_t cap,
            size_t *len)
{
    int i = field(r, key, required);
    if (i < 0)
        return required ? REQ_BAD : REQ_ABSENT;
    if (json_type(&r->doc, i) != JSON_STRING)
        return wrong(r, key, "a string");
    if (json_string(&r->doc, i, out, cap, len) != 0) {
        proto_error(r->s, r->ref, "too_long",
                    "field '%s' is %zu bytes; at most %zu are allowed", key,
                    *len, cap - 1);
        return REQ_BAD;
    }
    return REQ_OK;
}

int req_int(req_t *r, const char *key, int required, int64_t min, int64_t max,
            int64_t *out)
{
    int i = field(r, key, required);
    if (i < 0)
        return required ? REQ_BAD : REQ_ABSENT;
    if (json_type(&r->doc, i) != JSON_NUMBER || json_int64(&r->doc, i, out))
        return wrong(r, key, "an integer");
    if (*out < min || *out > max) {
        proto_error(r->s, r->ref, "bad_value",
                    "field '%s' must be from %lld to %lld", key, (long long)min,
                    (long long)max);
        return REQ_BAD;
    }
    return REQ_OK;
}

int req_bool(req_t *r, const char *key, int required, int *out)
{
    int i = field(r, key, required);
    if (i < 0)
        return required ? REQ_BAD : REQ_ABSENT;
    if (json_bool(&r->doc, i, out) != 0)
        return wrong(r, key, "true or false");
    return REQ_OK;
}
