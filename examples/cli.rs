//! The command line the examples share: `--NAME VALUE` options, each with
//! a default, and nothing else.

/// The value of `--name`, or `default`. Exits with a usage line on any
/// argument that is not one of `known`.
pub(crate) fn option(name: &str, default: &str, known: &[&str]) -> String {
    let mut args = std::env::args().skip(1);
    let mut value = default.to_owned();
    while let Some(a) = args.next() {
        let Some(flag) = a.strip_prefix("--") else {
            usage(known);
        };
        if !known.contains(&flag) {
            usage(known);
        }
        let Some(v) = args.next() else { usage(known) };
        if flag == name {
            value = v;
        }
    }
    value
}

fn usage(known: &[&str]) -> ! {
    let flags: Vec<String> = known.iter().map(|k| format!("[--{k} VALUE]")).collect();
    eprintln!("usage: {}", flags.join(" "));
    std::process::exit(2)
}
