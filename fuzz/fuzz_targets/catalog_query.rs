#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| stemma_fuzz::catalog_query(data));
