/*
 * embedded.c - looking up files compiled into the binary (embedded.h).
 * Tables are tiny (tens of entries), so a linear scan is the right tool.
 */
#include <string.h>

#include "waitchain/embedded.h"

const struct wc_embedded *wc_embedded_find(const struct wc_embedded *table,
					   const char *name)
{
	if (!table || !name)
		return NULL;
	for (; table->name; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}
