//! `edgerun-run` as a user runs it: one JSON line, clear errors.

use std::process::Command;

fn edgerun_run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_edgerun-run"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_bundle_prints_one_json_line_in_the_documented_order() {
    let (code, stdout, _) = edgerun_run(&["--bundle", "infinite-loop.bundle"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 1);
    assert!(
        stdout.starts_with(r#"{"outcome":"out-of-fuel","output_hash":""#),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#""fuel_used":1000000,"output_len":24}"#),
        "{stdout}"
    );
}

#[test]
fn wasm_and_input_with_caps_run_and_write_the_output() {
    let dir = std::env::temp_dir().join(format!("edgerun-run-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = dir.join("echo.wasm");
    let input = dir.join("input.txt");
    let out = dir.join("out.bin");
    let echo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/src/wat/echo.wat"
    );
    std::fs::write(&wasm, wat::parse_file(echo).unwrap()).unwrap();
    std::fs::write(&input, b"bytes in, bytes out").unwrap();
    let (code, stdout, stderr) = edgerun_run(&[
        "--wasm",
        wasm.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--fuel",
        "100000",
        "--memory",
        "65536",
        "--output-cap",
        "1024",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with(r#"{"outcome":"ok""#), "{stdout}");
    assert_eq!(std::fs::read(&out).unwrap(), b"bytes in, bytes out");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_2() {
    let (code, stdout, stderr) = edgerun_run(&["--bundle", "src/spec.json"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(stderr.contains("not an edgerun bundle"), "{stderr}");
    let (code, _, stderr) = edgerun_run(&["--bundle", "no-such.bundle"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read bundle no-such.bundle"),
        "{stderr}"
    );
    let (code, _, stderr) = edgerun_run(&["--wasm", "x.wasm", "--input", "y"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--fuel"), "{stderr}");
}
