/*
 * page.c - the built-in web page: GET / (and /ui/) answers the one HTML
 * file engine/serve/ui/index.html, compiled into the binary (CMake turns
 * it into a C array), with its script and styles inline. No CDN, no font,
 * no request to anywhere but this server: the site may be air-gapped. The
 * page asks for a token and then calls the same /api/v1 endpoints as any
 * client, so it can show and do exactly what the token's role allows.
 */
#include "engine/serve/http.h"

#include <stdlib.h>
#include <string.h>

extern const unsigned char cr_page_index_html[];
extern const size_t cr_page_index_html_len;

void cr_page_handle(struct cr_req *r, const char *path)
{
    if (strcmp(path, "/") && strcmp(path, "/ui") && strcmp(path, "/ui/") &&
        strcmp(path, "/index.html"))
        return cr_http_error(r, 404, "no such page: %s", path);
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
        return cr_http_error(r, 405, "the page answers GET");
    char *body = malloc(cr_page_index_html_len);
    if (!body)
        return cr_http_error(r, 500, "out of memory");
    memcpy(body, cr_page_index_html, cr_page_index_html_len);
    cr_http_reply(r, 200, "text/html; charset=utf-8", body, cr_page_index_html_len);
    MHD_add_response_header(r->response, "Content-Security-Policy",
                            "default-src 'none'; script-src 'unsafe-inline'; style-src "
                            "'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
                            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    MHD_add_response_header(r->response, "X-Frame-Options", "DENY");
}
