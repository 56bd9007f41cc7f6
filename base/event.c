/*
 * event.c - names of the normalized fields and formats.
 *
 * The names are a contract: rule files, incident entities and users'
 * scripts spell fields this way. DOMAIN.md (c) uses a few longer names
 * (subject_user, source_host); they are accepted as aliases on input.
 */
#include "base/event.h"

#include <string.h>

static const char *const builtin_names[CR_F__BUILTIN] = {
    [CR_F_HOST] = "host",
    [CR_F_PROGRAM] = "program",
    [CR_F_PID] = "pid",
    [CR_F_MSGID] = "msgid",
    [CR_F_MSG] = "msg",
    [CR_F_EVENT_TYPE] = "event_type",
    [CR_F_SEVERITY_VENDOR] = "severity_vendor",
    [CR_F_SOURCE_PRODUCT] = "source_product",
    [CR_F_SRC_IP] = "src_ip",
    [CR_F_SRC_PORT] = "src_port",
    [CR_F_DST_IP] = "dst_ip",
    [CR_F_DST_PORT] = "dst_port",
    [CR_F_PROTOCOL] = "protocol",
    [CR_F_USER] = "user",
    [CR_F_ACTION] = "action",
    [CR_F_OUTCOME] = "outcome",
    [CR_F_REASON] = "reason",
    [CR_F_OBJECT_TYPE] = "object_type",
    [CR_F_OBJECT_ID] = "object_id",
    [CR_F_TENANT_ID] = "tenant_id",
    [CR_F_COMMAND] = "command",
    [CR_F_USER_AGENT] = "user_agent",
    [CR_F_EVENT_ID] = "event_id",
    [CR_F_STRUCTURED_DATA] = "structured_data",
};

static const struct {
    const char *alias;
    int field;
} aliases[] = {
    {"subject_user", CR_F_USER},     {"source_host", CR_F_HOST}, {"message", CR_F_MSG},
    {"app_name", CR_F_PROGRAM},      {"hostname", CR_F_HOST},    {"source_ip", CR_F_SRC_IP},
    {"destination_ip", CR_F_DST_IP},
};

const char *cr_field_builtin_name(unsigned field)
{
    return field < CR_F__BUILTIN ? builtin_names[field] : NULL;
}

/* Called for every root key of a generic JSON record (json_event.c): the
 * first byte is compared before any strlen, which rejects nearly every key
 * (Windows records' are capitalized: EventID, Channel, Image...). */
int cr_field_builtin_id(const char *name, size_t len)
{
    if (len == 0)
        return -1;
    for (int i = 0; i < CR_F__BUILTIN; i++)
        if (builtin_names[i][0] == name[0] && strlen(builtin_names[i]) == len &&
            memcmp(builtin_names[i], name, len) == 0)
            return i;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (aliases[i].alias[0] == name[0] && strlen(aliases[i].alias) == len &&
            memcmp(aliases[i].alias, name, len) == 0)
            return aliases[i].field;
    return -1;
}

static const char *const format_names[CR_FMT__COUNT] = {
    [CR_FMT_AUTO] = "auto", [CR_FMT_RFC3164] = "rfc3164",         [CR_FMT_RFC5424] = "rfc5424",
    [CR_FMT_JSON] = "json", [CR_FMT_CLOUDEVENTS] = "cloudevents", [CR_FMT_RAW] = "raw",
};

const char *cr_format_name(enum cr_format f)
{
    return (unsigned)f < CR_FMT__COUNT ? format_names[f] : "unknown";
}

int cr_format_from_name(const char *name)
{
    if (strcmp(name, "syslog") == 0)
        return CR_FMT_AUTO; /* auto already tells 3164 from 5424 */
    for (int i = 0; i < CR_FMT__COUNT; i++)
        if (strcmp(format_names[i], name) == 0)
            return i;
    return -1;
}
