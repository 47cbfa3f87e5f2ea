/*
 * diff-html.c - `waitchain diff --html`: one self-contained page with the
 * before/after numbers and the two distributions of vCPU block durations
 * on the global mutex side by side, as inline SVG histograms.
 *
 * The page has no script at all.  Its Content-Security-Policy fetches
 * nothing and allows exactly the one inline <style> (by its SHA-256, as
 * the report does), so nothing in the page can load or run anything even
 * if a thread name tried to.  Styling of the SVG is by class (covered by
 * the style hash) and presentation attributes, never style="" attributes.
 * Every name and path goes through html_text (element content).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "html-local.h"
#include "waitchain/escape.h"
#include "waitchain/util.h"

static const char diff_css[] =
	"body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;"
	"padding:0 1em;color:#1d2330;background:#fff}"
	"h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.6em 0 .5em}"
	"table{border-collapse:collapse;margin:.3em 0}"
	"th,td{padding:.2em .7em;border-bottom:1px solid #e3e6ec;text-align:right}"
	"th:first-child,td:first-child{text-align:left}"
	"th{background:#f4f6f9;font-weight:600}"
	".src{color:#555;font-family:ui-monospace,monospace;font-size:.9em}"
	".better{color:#17803d}.worse{color:#b42318}"
	".hists{display:flex;gap:2em;flex-wrap:wrap}"
	".hist{flex:1 1 480px}.hist h3{font-size:1em;margin:.2em 0}"
	".bar-before{fill:#6b7fd7}.bar-after{fill:#e0803a}"
	".axis{stroke:#999;stroke-width:1}.lbl{font-size:10px;fill:#444}"
	".note{color:#666;font-size:.9em}\n";

static const char *dur(uint64_t ns, char *buf)
{
	return wc_fmt_duration(ns, buf, 32);
}

/* Change cell: less blocked time is better (green), more is worse. */
static void td_delta(FILE *out, uint64_t before, uint64_t after)
{
	char x[32];

	if (before == after) {
		fputs("<td>0</td>", out);
		return;
	}
	fprintf(out, "<td class=\"%s\">%c%s", after < before ? "better" : "worse",
		after > before ? '+' : '-',
		dur(after > before ? after - before : before - after, x));
	if (before)
		fprintf(out, " (%+.1f%%)", 100.0 * ((double)after - before) / before);
	fputs("</td>", out);
}

static void td_dur(FILE *out, uint64_t ns)
{
	char x[32];

	fprintf(out, "<td>%s</td>", dur(ns, x));
}

static void td_name(FILE *out, const char *name)
{
	fputs("<td>", out);
	wc_fput_html_text(out, name ? name : "(unknown)");
	fputs("</td>", out);
}

/* Lower bound of bucket K in readable units. */
static const char *bucket_label(int k, char *buf)
{
	return k ? dur((uint64_t)1 << k, buf) : "0";
}

/* One histogram: share of SIDE's blocks per bucket, buckets [lo, hi],
 * heights scaled to YMAX (a share, 0..1) so both sides compare. */
static void svg_hist(FILE *out, const struct wc_diff_side *s, const char *cls,
		     int lo, int hi, double ymax)
{
	const int W = 520, H = 220, left = 36, bottom = 40, top = 10;
	int nb = hi - lo + 1;
	double bw = (double)(W - left - 10) / (nb > 0 ? nb : 1);
	char x[32], y[32];

	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		"width=\"100%%\" role=\"img\">", W, H);
	fprintf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
		left, H - bottom, W - 10, H - bottom);
	fprintf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
		left, top, left, H - bottom);
	fprintf(out, "<text class=\"lbl\" x=\"2\" y=\"%d\">%.0f%%</text>", top + 8,
		ymax * 100);
	fprintf(out, "<text class=\"lbl\" x=\"2\" y=\"%d\">0%%</text>", H - bottom);
	for (int k = lo; k <= hi && nb > 0; k++) {
		double share = s->dist.n ? (double)s->dist.hist[k] / s->dist.n : 0;
		double h = ymax > 0 ? share / ymax * (H - bottom - top) : 0;
		double bx = left + (k - lo) * bw;

		fprintf(out, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			"height=\"%.1f\"><title>%" PRIu64 " blocks (%.1f%%) from %s to %s"
			"</title></rect>", cls, bx + 1, H - bottom - h,
			bw > 2 ? bw - 2 : bw, h, s->dist.hist[k], share * 100,
			bucket_label(k, x), dur((uint64_t)1 << (k + 1), y));
		if ((k - lo) % 2 == 0)
			fprintf(out, "<text class=\"lbl\" x=\"%.1f\" y=\"%d\" "
				"transform=\"rotate(40 %.1f %d)\">%s</text>",
				bx + 2, H - bottom + 12, bx + 2, H - bottom + 12,
				bucket_label(k, x));
	}
	fputs("</svg>", out);
}

static void hist_block(FILE *out, const struct wc_diff_side *s, const char *title,
		       const char *cls, int lo, int hi, double ymax)
{
	char a[32], b[32], c[32];

	fprintf(out, "<div class=\"hist\"><h3>%s: %" PRIu64 " blocks, p50 %s, "
		"p99 %s, max %s</h3>", title, s->dist.n, dur(s->dist.p50, a),
		dur(s->dist.p99, b), dur(s->dist.max, c));
	svg_hist(out, s, cls, lo, hi, ymax);
	fputs("</div>", out);
}

int wc_diff_html(const struct wc_diff *d, FILE *out, struct wc_error *err)
{
	const struct wc_diff_side *b = &d->before, *a = &d->after;
	struct wc_diff_pair *pairs = NULL;
	struct wc_buf csp = WC_BUF_INIT;
	unsigned char digest[32];
	size_t npairs = 0;
	int lo = WC_DIFF_BUCKETS, hi = -1, any_new = 0;
	double ymax = 0;
	char x[32];

	wc_html_sha256(diff_css, strlen(diff_css), digest);
	if (wc_buf_adds(&csp, "default-src 'none'; style-src 'sha256-") ||
	    wc_html_base64(&csp, digest, sizeof(digest)) ||
	    wc_buf_adds(&csp, "'; img-src data:; base-uri 'none'; form-action 'none'"))
		return wc_err(err, WC_ENOMEM, NULL, "diff: out of memory");
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">\n"
		"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
		"<title>waitchain diff</title>\n<style>%s</style></head><body>\n",
		wc_buf_str(&csp), diff_css);
	wc_buf_free(&csp);

	fputs("<h1>waitchain diff</h1>\n<p class=\"src\">before: ", out);
	wc_fput_html_text(out, b->arg);
	fputs("<br>after: ", out);
	wc_fput_html_text(out, a->arg);
	fputs("</p>\n<h2>vCPU time blocked on the global mutex</h2>\n"
	      "<table><tr><th></th><th>before</th><th>after</th><th>change</th></tr>\n", out);
	fputs("<tr><td>vCPU time observed</td>", out);
	td_dur(out, b->v->observed_ns);
	td_dur(out, a->v->observed_ns);
	fputs("<td></td></tr>\n<tr><td>blocked on the global mutex</td>", out);
	td_dur(out, b->v->global_ns);
	td_dur(out, a->v->global_ns);
	td_delta(out, b->v->global_ns, a->v->global_ns);
	fprintf(out, "</tr>\n<tr><td>share of vCPU time</td><td>%.2f%%</td><td>%.2f%%</td>"
		"<td>%+.2f pts</td></tr>\n", b->global_pct, a->global_pct,
		a->global_pct - b->global_pct);
	fprintf(out, "<tr><td>blocks</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td>"
		"<td>%+" PRId64 "</td></tr>\n", b->dist.n, a->dist.n,
		(int64_t)(a->dist.n - b->dist.n));
	{
		static const char *const names[] = { "p50", "p90", "p95", "p99", "max" };
		const uint64_t vb[] = { b->dist.p50, b->dist.p90, b->dist.p95,
					b->dist.p99, b->dist.max };
		const uint64_t va[] = { a->dist.p50, a->dist.p90, a->dist.p95,
					a->dist.p99, a->dist.max };

		for (int i = 0; i < 5; i++) {
			fprintf(out, "<tr><td>%s block</td>", names[i]);
			td_dur(out, vb[i]);
			td_dur(out, va[i]);
			td_delta(out, vb[i], va[i]);
			fputs("</tr>\n", out);
		}
	}
	fputs("</table>\n", out);

	/* shared axes: the union of the non-empty buckets, the larger share */
	for (int k = 0; k < WC_DIFF_BUCKETS; k++) {
		if (!b->dist.hist[k] && !a->dist.hist[k])
			continue;
		if (k < lo)
			lo = k;
		hi = k;
		if (b->dist.n && (double)b->dist.hist[k] / b->dist.n > ymax)
			ymax = (double)b->dist.hist[k] / b->dist.n;
		if (a->dist.n && (double)a->dist.hist[k] / a->dist.n > ymax)
			ymax = (double)a->dist.hist[k] / a->dist.n;
	}
	fputs("<h2>Block durations on the global mutex (share of blocks, log2 buckets)</h2>\n"
	      "<div class=\"hists\">", out);
	if (hi < 0) {
		fputs("<p class=\"note\">No vCPU blocked on the global mutex on either side.</p>", out);
	} else {
		hist_block(out, b, "before", "bar-before", lo, hi, ymax);
		hist_block(out, a, "after", "bar-after", lo, hi, ymax);
	}
	fputs("</div>\n", out);

	if (wc_diff_vcpu_pairs(d, &pairs, &npairs) < 0)
		return wc_err(err, WC_ENOMEM, NULL, "diff: out of memory");
	fputs("<h2>Per vCPU</h2>\n<table><tr><th>vCPU</th><th>blocked before</th>"
	      "<th>after</th><th>change</th><th>blocks before</th><th>after</th>"
	      "<th>p99 before</th><th>after</th></tr>\n", out);
	for (size_t i = 0; i < npairs; i++) {
		static const struct wc_verdict_vcpu none;
		const struct wc_verdict_vcpu *vb = pairs[i].before >= 0 ?
			&b->v->vcpus[pairs[i].before] : &none;
		const struct wc_verdict_vcpu *va = pairs[i].after >= 0 ?
			&a->v->vcpus[pairs[i].after] : &none;

		fputs("<tr>", out);
		td_name(out, pairs[i].before >= 0 ? vb->name : va->name);
		td_dur(out, vb->global_ns);
		td_dur(out, va->global_ns);
		td_delta(out, vb->global_ns, va->global_ns);
		fprintf(out, "<td>%" PRIu64 "</td><td>%" PRIu64 "</td>",
			vb->global_blocks, va->global_blocks);
		td_dur(out, vb->p99_ns);
		td_dur(out, va->p99_ns);
		fputs("</tr>\n", out);
	}
	free(pairs);
	fputs("</table>\n", out);

	if (wc_diff_holder_pairs(d, &pairs, &npairs) < 0)
		return wc_err(err, WC_ENOMEM, NULL, "diff: out of memory");
	fputs("<h2>Holders of the global mutex while vCPUs waited</h2>\n"
	      "<p class=\"note\">vCPU-weighted: two vCPUs waiting on the same holder count twice.</p>\n"
	      "<table><tr><th>holder</th><th>held before</th><th>share</th><th>held after</th>"
	      "<th>share</th><th>change</th>", out);
	for (int k = 0; k < WC_HS_COUNT; k++)
		fprintf(out, "<th>%s after (before)</th>", wc_hstate_name(k));
	fputs("</tr>\n", out);
	for (size_t i = 0; i < npairs; i++) {
		static const struct wc_diff_holder none;
		const struct wc_diff_holder *hb = pairs[i].before >= 0 ?
			&b->holders[pairs[i].before] : &none;
		const struct wc_diff_holder *ha = pairs[i].after >= 0 ?
			&a->holders[pairs[i].after] : &none;

		fputs("<tr>", out);
		td_name(out, pairs[i].after >= 0 ? ha->name : hb->name);
		td_dur(out, hb->held_ns);
		fprintf(out, "<td>%.1f%%</td>", hb->held_pct);
		td_dur(out, ha->held_ns);
		fprintf(out, "<td>%.1f%%</td>", ha->held_pct);
		td_delta(out, hb->held_ns, ha->held_ns);
		for (int k = 0; k < WC_HS_COUNT; k++)
			fprintf(out, "<td>%.0f%% (%.0f%%)</td>",
				ha->held_ns ? 100.0 * ha->state_ns[k] / ha->held_ns : 0,
				hb->held_ns ? 100.0 * hb->state_ns[k] / hb->held_ns : 0);
		fputs("</tr>\n", out);
	}
	free(pairs);
	fprintf(out, "</table>\n<h2>New top holders</h2>\n<p>In the top %d after, "
		"not in the top %d before:", d->top > 0 ? d->top : WC_DIFF_DEFAULT_TOP,
		d->top > 0 ? d->top : WC_DIFF_DEFAULT_TOP);
	for (size_t i = 0; i < a->nholders; i++) {
		if (!wc_diff_is_new_top(d, i))
			continue;
		fputs(any_new ? ", " : " ", out);
		wc_fput_html_text(out, a->holders[i].name ? a->holders[i].name : "(unknown)");
		fprintf(out, " (%s)", dur(a->holders[i].held_ns, x));
		any_new = 1;
	}
	fputs(any_new ? "</p>\n" : " none.</p>\n", out);
	fputs("<p class=\"note\">Generated by waitchain " WC_VERSION ".</p>\n</body></html>\n", out);
	if (fflush(out) != 0 || ferror(out))
		return wc_err(err, WC_EIO, NULL, "cannot write the diff");
	return 0;
}
