/* Copyright (c) 2026 dovecot-migrate authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "safe-mkstemp.h"
#include "write-full.h"
#include "istream.h"
#include "migrate-file.h"

#include <stdio.h>
#include <unistd.h>

static int
migrate_file_replace_full(const char *path, const buffer_t *data, bool sync,
			  const char **error_r)
{
	const char *tmp_path;
	string_t *temp;
	int fd;

	temp = t_str_new(128);
	str_append(temp, path);
	str_append_c(temp, '.');
	fd = safe_mkstemp_hostpid(temp, 0600, (uid_t)-1, (gid_t)-1);
	if (fd == -1) {
		*error_r = t_strdup_printf("safe_mkstemp(%s) failed: %m", path);
		return -1;
	}
	tmp_path = str_c(temp);
	if (write_full(fd, data->data, data->used) < 0 ||
	    (sync && fdatasync(fd) < 0)) {
		*error_r = t_strdup_printf("write(%s) failed: %m", tmp_path);
		i_close_fd(&fd);
		i_unlink(tmp_path);
		return -1;
	}
	i_close_fd(&fd);
	if (rename(tmp_path, path) < 0) {
		*error_r = t_strdup_printf("rename(%s, %s) failed: %m",
					   tmp_path, path);
		i_unlink(tmp_path);
		return -1;
	}
	return 0;
}

int migrate_file_replace(const char *path, const buffer_t *data,
			 const char **error_r)
{
	return migrate_file_replace_full(path, data, TRUE, error_r);
}

int migrate_file_replace_nosync(const char *path, const buffer_t *data,
				const char **error_r)
{
	return migrate_file_replace_full(path, data, FALSE, error_r);
}

int migrate_file_read(const char *path, string_t **data_r,
		      const char **error_r)
{
	struct istream *input;
	const unsigned char *data;
	size_t size;
	string_t *str;
	int ret = 1;

	input = i_stream_create_file(path, 65536);
	str = t_str_new(4096);
	while (i_stream_read_more(input, &data, &size) > 0) {
		str_append_data(str, data, size);
		i_stream_skip(input, size);
	}
	if (input->stream_errno == ENOENT)
		ret = 0;
	else if (input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(%s) failed: %s", path,
					   i_stream_get_error(input));
		ret = -1;
	}
	i_stream_unref(&input);
	*data_r = str;
	return ret;
}
