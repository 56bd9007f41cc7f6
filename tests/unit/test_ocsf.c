/*
 * test_ocsf.c - incidents as OCSF 1.1 findings (engine/store/ocsf.h): a
 * correlation as an Incident Finding, a single rule's incident as a
 * Detection Finding, levels, priorities and states mapped to OCSF's ids,
 * systems and assets as resources, entities as observables, and what OCSF
 * has no member for kept under unmapped.
 */
#include "engine/store/ocsf.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <string.h>

static const char *CORR =
    "{\"id\":\"8102ea82b8c61762a3b4fc24793bf835\",\"rule\":\"ssh.login_after_bruteforce\","
    "\"title\":\"SSH login accepted from a brute-forcing source\",\"category\":\"S-ATK-COMP\","
    "\"reg_category\":\"NA/NAHACKED\",\"entities\":{\"src_ip\":\"203.0.113.9\"},"
    "\"first_seen\":\"2026-03-02T08:01:03.000Z\",\"last_seen\":\"2026-03-02T08:03:41.000Z\","
    "\"event_count\":1,\"priority\":\"P1\",\"reg_level\":\"III\",\"status\":\"acknowledged\","
    "\"evidence\":{\"refs\":[{\"input\":\"a.log\",\"position\":74111,\"time\":"
    "\"2026-03-02T08:03:41.000Z\"}],\"samples\":[],\"refs_dropped\":0},\"reasons\":[],"
    "\"rule_priority\":\"P2\",\"kind\":\"correlation\",\"assets\":[\"ss-db-01\"],"
    "\"attack\":[\"T1110\",\"T1078\"],"
    "\"tenants\":[\"t-hr\"],\"systems\":[{\"id\":\"social-security\",\"name\":\"社保\","
    "\"tier\":\"T1\"}],\"detected_at\":\"2026-03-02T08:03:42.000Z\","
    "\"history\":[{\"action\":\"grade\"},{\"action\":\"transition\"}],"
    "\"report_due\":\"2026-03-02T09:03:42.000Z\"}";

static const char *DET =
    "{\"id\":\"4bbdee63a8311762a3b4fc24793bf835\",\"rule\":\"sudo.not_in_sudoers\","
    "\"title\":\"sudo refused\",\"category\":\"S-OPS-PRIV\",\"entities\":{\"user\":\"peggy\","
    "\"host\":\"app-01\"},\"first_seen\":\"2026-03-02T08:04:46.000Z\",\"last_seen\":"
    "\"2026-03-02T08:04:46.000Z\",\"event_count\":3,\"priority\":\"P3\",\"reg_level\":\"IV\","
    "\"status\":\"closed\",\"kind\":\"detection\"}";

Test(ocsf, a_correlation_is_an_incident_finding)
{
    json_t *inc = json_loads(CORR, 0, NULL);
    cr_assert(inc);
    json_t *o = cr_incident_to_ocsf(inc);
    cr_assert(o);
    cr_expect_eq(json_integer_value(json_object_get(o, "class_uid")), 2005);
    cr_expect_eq(json_integer_value(json_object_get(o, "category_uid")), 2);
    cr_expect_eq(json_integer_value(json_object_get(o, "activity_id")), 2, "updated since");
    cr_expect_eq(json_integer_value(json_object_get(o, "type_uid")), 200502);
    cr_expect_eq(json_integer_value(json_object_get(o, "severity_id")), 3, "III: Medium");
    cr_expect_eq(json_integer_value(json_object_get(o, "priority_id")), 4, "P1: Critical");
    cr_expect_eq(json_integer_value(json_object_get(o, "status_id")), 2, "In Progress");
    cr_expect_eq(json_integer_value(json_object_get(o, "time")), 1772438622000LL);
    cr_expect_eq(json_integer_value(json_object_get(o, "start_time")), 1772438463000LL);
    json_t *fi = json_object_get(o, "finding_info");
    cr_expect_str_eq(json_string_value(json_object_get(fi, "uid")),
                     "8102ea82b8c61762a3b4fc24793bf835");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(fi, "analytic"), "uid")),
                     "ssh.login_after_bruteforce");
    json_t *atk = json_object_get(fi, "attacks");
    cr_expect_eq(json_array_size(atk), 2);
    cr_expect_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(atk, 0), "technique"), "uid")),
                     "T1110");
    cr_expect_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(fi, "related_events"), 0), "uid")),
                     "a.log:74111");
    json_t *res = json_object_get(o, "resources");
    cr_expect_eq(json_array_size(res), 2, "the system and the asset");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(res, 0), "criticality")),
                     "T1");
    json_t *ob = json_array_get(json_object_get(o, "observables"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(ob, "value")), "203.0.113.9");
    cr_expect_eq(json_integer_value(json_object_get(ob, "type_id")), 2, "IP Address");
    json_t *um = json_object_get(o, "unmapped");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(um, "tenants"), 0)), "t-hr");
    cr_expect(json_object_get(um, "report_due"));
    cr_expect_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(o, "metadata"), "product"), "name")),
                     "corral");
    json_decref(o);
    json_decref(inc);
}

Test(ocsf, a_rule_of_its_own_is_a_detection_finding)
{
    json_t *inc = json_loads(DET, 0, NULL);
    json_t *o = cr_incident_to_ocsf(inc);
    cr_assert(o);
    cr_expect_eq(json_integer_value(json_object_get(o, "class_uid")), 2004,
                 "one rule, however many records");
    cr_expect_eq(json_integer_value(json_object_get(o, "severity_id")), 2, "IV: Low");
    cr_expect_eq(json_integer_value(json_object_get(o, "status_id")), 5, "closed");
    cr_expect_eq(json_integer_value(json_object_get(o, "activity_id")), 3, "closed: Close");
    cr_expect(!json_object_get(o, "priority_id"), "a Detection Finding has no priority");
    json_t *obs = json_object_get(o, "observables");
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(obs, 0), "type_id")), 4);
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(obs, 1), "type_id")), 1);
    json_decref(o);
    json_decref(inc);
    json_t *notinc = json_string("x");
    cr_expect(cr_incident_to_ocsf(notinc) == NULL);
    json_decref(notinc);
}
