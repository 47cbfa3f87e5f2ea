/*
 * registry.c - the table of capture importers.
 *
 * The order is the probe order (magic bytes do not overlap, so it only
 * matters for speed).  References are strong on purpose: a program that
 * links the static library and only calls wc_import_file() must still
 * pull every importer in.
 */
#include <stddef.h>

#include "waitchain/importer.h"

const struct wc_importer *const wc_importers[] = {
	&wc_importer_trace_dat,
	&wc_importer_perf_data,
	NULL,
};

const struct wc_importer *wc_importer_find(struct wc_input *in)
{
	for (const struct wc_importer *const *imp = wc_importers; *imp; imp++)
		if ((*imp)->probe(in->head, in->head_len))
			return *imp;
	return NULL;
}
