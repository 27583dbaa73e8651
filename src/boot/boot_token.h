/* The azure-keyvault token of a converted or half-converted volume, found
 * where the engine keeps its header in that state: at the start of the
 * partition (shift, done), in the tail area (shift, in progress), or in the
 * header file (detached). */
#pragma once
#include "engine.h"
#include "luks2.h"

/* ...and that header's UUID into uuid (uuid_size >= 37). */
int boot_azure_token(const struct engine_opts *o, struct luks2_azure_token *ret, char *uuid,
		     size_t uuid_size);
