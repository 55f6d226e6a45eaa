"""fuzz_target: a libFuzzer target plus a test replaying its seeds and past crashes."""

def fuzz_target(name, srcs, deps, seeds):
    """Declares `name` (a fuzzer under --config=fuzz, a replay tool otherwise) and `name_replay`.

    Args:
      name: target name, e.g. "fuzz_metadata".
      srcs: sources defining LLVMFuzzerTestOneInput.
      deps: libraries under test.
      seeds: files or filegroups replayed by the test (crashes/<name>/ is added when present).
    """
    crashes = native.glob(["crashes/%s/*" % name])
    native.cc_binary(
        name = name,
        srcs = srcs,
        deps = deps + [":fuzz_util"] + select({
            ":fuzzing": [],
            "//conditions:default": [":replay_main"],
        }),
    )
    native.cc_test(
        name = name + "_replay",
        size = "small",
        srcs = srcs,
        deps = deps + [":fuzz_util", ":replay_main"],
        data = seeds + crashes,
        args = ["$(locations %s)" % s for s in seeds] + ["$(location %s)" % c for c in crashes],
    )
