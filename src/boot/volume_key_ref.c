#include "volume_key_ref.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "luks2.h"

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int volume_read_ref(const char *hdr_path, struct kv_ref *ret, char *uuid, size_t uuid_size)
{
	struct luks2_azure_token t = { 0 };
	struct luks2_hdr *h = NULL;
	int fd, r;

	fd = open(hdr_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, "cannot open \"%s\"", hdr_path);
	r = luks2_hdr_read(&h, fd, 0, NULL);
	close(fd);
	if (r == -ENODEV)
		return log_error(ENODEV, "\"%s\" has no LUKS2 header", hdr_path);
	if (r < 0)
		return r;
	r = luks2_token_azure_get(h, &t);
	snprintf(uuid, uuid_size, "%s", luks2_hdr_uuid(h));
	luks2_hdr_free(h);
	if (r == -ENOENT)
		return log_error(ENOENT, "\"%s\" has no azure-keyvault token: use --key-file",
				 hdr_path);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	ret->vault_url = dup_or_null(t.vault_url);
	ret->secret_name = dup_or_null(t.secret_name);
	ret->secret_version = dup_or_null(t.secret_version);
	ret->kek_id = dup_or_null(t.kek_id);
	ret->kek_alg = dup_or_null(t.kek_alg);
	luks2_azure_token_clear(&t);
	if (!ret->vault_url || !ret->secret_name) {
		kv_ref_free(ret);
		return log_error(EINVAL, "azure-keyvault token in \"%s\" lacks vault or secret",
				 hdr_path);
	}
	return 0;
}

int volume_fetch_passphrase(const struct rootcrypt_config *cfg, const char *hdr_path,
			    char **ret_secmem, size_t *ret_len)
{
	struct kv_config kv;
	struct kv_ref ref;
	char uuid[40];
	int r;

	r = volume_read_ref(hdr_path, &ref, uuid, sizeof(uuid));
	if (r < 0)
		return r;
	keystore_config_from(&kv, cfg);
	/* A configured vault (and KEK) wins over what the disk says. */
	r = keystore_ref_pinned(&kv, &ref);
	if (r < 0) {
		kv_ref_free(&ref);
		return r;
	}
	kv.vault = ref.vault_url;
	r = keystore_fetch(&kv, &ref, uuid, ret_secmem, ret_len);
	kv_ref_free(&ref);
	return r;
}
