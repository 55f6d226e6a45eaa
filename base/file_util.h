#ifndef LIGHTSPEECH_BASE_FILE_UTIL_H_
#define LIGHTSPEECH_BASE_FILE_UTIL_H_

// Small POSIX file helpers shared by the writers and the command-line tools.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lightspeech::base {

// Maps errno to a Status "PATH: WHAT: strerror": NotFound, PermissionDenied, ResourceExhausted (disk
// full, quota, file too large) or Internal.
absl::Status ErrnoStatus(const std::string& path, absl::string_view what, int err);

// Creates `path` for writing as a new regular file: whatever is already under that name (a stale
// partial file, a symlink placed there) is unlinked first, then the file is opened with O_CREAT |
// O_EXCL | O_NOFOLLOW, so a write never follows a link out of the folder. Fails naming the path
// (e.g. PermissionDenied, or Internal "File exists" when something re-creates the name meanwhile).
absl::StatusOr<std::FILE*> CreateNewFile(const std::string& path);

// Writes `contents` to `path` atomically: to "<path>.partial" (CreateNewFile), fsync, rename, fsync
// of the folder. On failure the previous file at `path`, if any, is untouched and no partial file is
// left. A symlink at `path` is replaced by the file (rename does not follow it); its target is
// untouched.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// Reads a whole file. Fails naming the path.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// fsyncs a folder, so that renames inside it survive a crash.
absl::Status SyncDir(const std::string& dir);

// The folder part of `path` ("." when there is none).
std::string DirName(const std::string& path);

bool IsDirectory(const std::string& path);
bool IsRegularFile(const std::string& path);

// Names (not paths) of the entries of `dir`, sorted. Fails naming the folder.
absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir);

// A path given on the command line: relative paths are taken relative to the folder the user ran
// `bazel run` from (BUILD_WORKING_DIRECTORY), else to the current folder.
std::string ResolveUserPath(const std::string& path);

// The workspace when run with `bazel run` (BUILD_WORKSPACE_DIRECTORY), else "." (the current
// folder): where the binaries' default inputs and outputs (data/, runs/) live.
std::string WorkspaceDir();

}  // namespace lightspeech::base

#endif  // LIGHTSPEECH_BASE_FILE_UTIL_H_
