//! Print what stemma-import recognises in file names given as arguments or on standard input.
use std::io::BufRead;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let lines: Vec<String> = if args.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .collect()
    } else {
        args
    };
    for line in lines {
        let name = line.split('\t').next().unwrap_or_default();
        if name.starts_with('#') || name.is_empty() {
            continue;
        }
        match stemma_import::recognise_filename(name) {
            Some(m) => println!("{}", serde_json::to_string(&m).unwrap_or_default()),
            None => println!("NONE {name}"),
        }
    }
}
