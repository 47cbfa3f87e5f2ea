/*
 * html.c - `waitchain report -o report.html`: one self-contained page.
 *
 * The page is report/assets/template.html with five slots filled in:
 *
 *   {{CSP}}     the Content-Security-Policy: nothing may be fetched
 *               (default-src 'none', connect-src 'none'), images only
 *               from data: URLs, and the only script and style allowed
 *               are the page's own, named by their SHA-256 hashes
 *               (computed here, so an edited asset can never run with a
 *               stale hash - Chromium refuses it and the browser test
 *               fails);
 *   {{TITLE}}   the capture's file name, through wc_esc_html_text();
 *   {{STYLE}}   report/assets/report.css;
 *   {{DATA}}    the JSON data block of html-data.c, inside
 *               <script type="application/json" id="data">: every string
 *               in it is escaped by wc_esc_json_str(), which writes
 *               < > & U+2028 U+2029 as \uXXXX, so "</script>" in a thread
 *               name cannot end the element;
 *   {{SCRIPT}}  report/assets/report.js, which parses the data with
 *               JSON.parse and inserts capture strings with textContent
 *               only.
 *
 * Nothing is loaded from anywhere: the page opens from disk with no
 * network, and every byte it needs is in the file.  Size is dominated by
 * the interval streams (~3-4 bytes an interval in base64).
 */
#include <stdio.h>
#include <string.h>

#include "waitchain/embedded.h"
#include "waitchain/escape.h"
#include "waitchain/report.h"
#include "waitchain/util.h"
#include "waitchain/verdict.h"
#include "html-local.h"

/* Appends "'sha256-BASE64'" of TEXT[LEN] to B. */
static int csp_hash(struct wc_buf *b, const char *text, size_t len)
{
	unsigned char digest[32];

	wc_html_sha256(text, len, digest);
	if (wc_buf_adds(b, "'sha256-") || wc_html_base64(b, digest, 32) ||
	    wc_buf_addc(b, '\''))
		return -WC_ENOMEM;
	return 0;
}

/* The embedded asset NAME; with RAW, checked to be safe inside a raw-text
 * element (no "</" that could close it: the assets are ours, this guards
 * edits). */
static const struct wc_embedded *asset(const char *name, int raw,
				       struct wc_error *err)
{
	const struct wc_embedded *a = wc_embedded_find(wc_report_assets, name);

	if (!a) {
		wc_err(err, WC_ENOTFOUND, NULL,
		       "report asset %s is not compiled in", name);
		return NULL;
	}
	if (raw && (strstr(a->text, "</") || strstr(a->text, "<!--"))) {
		wc_err(err, WC_EFORMAT, NULL,
		       "report asset %s contains \"</\" or \"<!--\"", name);
		return NULL;
	}
	return a;
}

/* Writes LEN bytes or records an I/O error naming OUTPUT. */
static int put(FILE *out, const char *s, size_t len, const char *output,
	       struct wc_error *err)
{
	if (len && fwrite(s, 1, len, out) != len)
		return wc_err(err, WC_EIO, output ? output : "<stdout>",
			      "writing the HTML report failed");
	return 0;
}

int wc_report_html(sqlite3 *db, const char *db_path,
		   const struct wc_report_options *opt, FILE *out,
		   struct wc_error *err)
{
	const struct wc_embedded *tmpl, *css, *js;
	struct wc_buf data = WC_BUF_INIT, csp = WC_BUF_INIT, title = WC_BUF_INIT;
	struct wc_verdict *verdict = NULL;
	const char *p, *output = opt ? opt->output : NULL;
	const char *name = opt && opt->source_arg ? opt->source_arg : db_path;
	int rc = 0;

	tmpl = asset("template.html", 0, err);
	css = asset("report.css", 1, err);
	js = asset("report.js", 1, err);
	if (!tmpl || !css || !js)
		return -err->code;

	rc = wc_verdict_compute(db, db_path, opt, &verdict, err);
	if (!rc)
		rc = wc_html_data(db, db_path, opt, verdict, &data, err);
	if (rc)
		goto out;
	if (wc_buf_adds(&csp, "default-src 'none'; script-src ") ||
	    csp_hash(&csp, js->text, js->len) ||
	    wc_buf_adds(&csp, "; style-src ") ||
	    csp_hash(&csp, css->text, css->len) ||
	    wc_buf_adds(&csp, "; img-src data:; connect-src 'none'; "
			"base-uri 'none'; form-action 'none'") ||
	    wc_buf_adds(&title, "waitchain report: ") ||
	    wc_esc_html_text(&title, name ? wc_path_basename(name) : "",
			     name ? strlen(wc_path_basename(name)) : 0)) {
		rc = wc_err(err, WC_ENOMEM, db_path, "report: out of memory");
		goto out;
	}

	/* copy the template, replacing each {{SLOT}} */
	p = tmpl->text;
	while (!rc && *p) {
		const char *slot = strstr(p, "{{"), *end;
		const char *fill = NULL;
		size_t flen = 0;

		if (!slot || !(end = strstr(slot, "}}"))) {
			rc = put(out, p, strlen(p), output, err);
			break;
		}
		rc = put(out, p, (size_t)(slot - p), output, err);
		if (!strncmp(slot, "{{CSP}}", 7)) {
			fill = csp.data;
			flen = csp.len;
		} else if (!strncmp(slot, "{{TITLE}}", 9)) {
			fill = title.data;
			flen = title.len;
		} else if (!strncmp(slot, "{{STYLE}}", 9)) {
			fill = css->text;
			flen = css->len;
		} else if (!strncmp(slot, "{{DATA}}", 8)) {
			fill = data.data;
			flen = data.len;
		} else if (!strncmp(slot, "{{SCRIPT}}", 10)) {
			fill = js->text;
			flen = js->len;
		} else {
			fill = slot;	/* not a slot: copy as is */
			flen = (size_t)(end + 2 - slot);
		}
		if (!rc)
			rc = put(out, fill, flen, output, err);
		p = end + 2;
	}
	if (!rc && fflush(out) != 0)
		rc = wc_err(err, WC_EIO, output ? output : "<stdout>",
			    "writing the HTML report failed");
out:
	wc_verdict_free(verdict);
	wc_buf_free(&data);
	wc_buf_free(&csp);
	wc_buf_free(&title);
	return rc;
}
