/*
 * error.c - recording and printing struct wc_error (see error.h).
 *
 * Messages often quote capture bytes (file names, event names), so
 * wc_err() flattens newlines and wc_error_print() escapes control bytes
 * for the terminal: a hostile capture cannot forge extra output lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "waitchain/error.h"
#include "waitchain/escape.h"
#include "waitchain/util.h"

static const char *const error_text[] = {
#define WC_ERR_TEXT(name, text, status) text,
	WC_ERRORS(WC_ERR_TEXT)
#undef WC_ERR_TEXT
};

static const int error_status[] = {
#define WC_ERR_STATUS(name, text, status) status,
	WC_ERRORS(WC_ERR_STATUS)
#undef WC_ERR_STATUS
};

int wc_verr(struct wc_error *e, int code, const char *file, const char *fmt,
	    va_list ap)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = WC_EIO;
	if (!e || e->code)
		return -code;
	e->code = code;
	if (file)
		snprintf(e->file, sizeof(e->file), "%s", file);
	if (fmt)
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	else
		snprintf(e->msg, sizeof(e->msg), "%s", wc_strerror(code));
	for (char *p = e->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return -code;
}

int wc_err(struct wc_error *e, int code, const char *file, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = wc_verr(e, code, file, fmt, ap);
	va_end(ap);
	return rc;
}

const char *wc_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code >= WC_E_COUNT)
		return "unknown error";
	return error_text[code];
}

int wc_error_exit_status(int code)
{
	if (code < 0)
		code = -code;
	if (code >= WC_E_COUNT)
		return 1;
	return error_status[code];
}

void wc_error_print(const struct wc_error *e, FILE *out)
{
	const char *msg = e->msg[0] ? e->msg : wc_strerror(e->code);

	fputs("waitchain: ", out);
	if (e->file[0]) {
		wc_fput_tty_str(out, e->file);
		fputs(": ", out);
	}
	wc_fput_tty_str(out, msg);
	fputc('\n', out);
	fflush(out);
}

void wc_error_clear(struct wc_error *e)
{
	e->code = 0;
	e->file[0] = '\0';
	e->msg[0] = '\0';
}
