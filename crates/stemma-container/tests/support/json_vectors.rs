//! JSON vectors (`spec/vectors/json/`): canonical forms, settings hashes, merge patches, the sharing profile and the
//! expansion of `raw` references. Each file is a list of cases with inputs and the expected outputs; the expected
//! values here are computed by stemma-model and checked independently by the tests below.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use stemma_model::{
    apply_merge_patch, canonical_json, merge_patch_diff, settings_hash, share_record, to_ijson,
};

fn pretty(v: &Value) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).unwrap();
    s.push('\n');
    s.into_bytes()
}

/// Canonical-form cases: the input is JSON text (so number spellings and escapes survive), the output the exact
/// RFC 8785 text after the I-JSON conversion of §6.1.
const CANONICAL_INPUTS: &[(&str, &str)] = &[
    (
        "member order and whitespace",
        r#"{ "b" : 1, "a" : [ 1 , "x" ] }"#,
    ),
    (
        "number forms",
        r#"[4.50, 1E30, -0.0, 1e21, 1e-7, 0.000001, 100, 1.0, 1.2345678901234568e20, 5e-324]"#,
    ),
    (
        "order by UTF-16 code units, not code points",
        r#"{"\ufb01":1,"\ud800\udc00":2,"\u00e9":3,"z":4,"Z":5}"#,
    ),
    (
        "string escapes",
        r#"["\u0000\u001f\"\\\/\b\f\n\r\t", "\u00e9\u20ac\ud83d\ude00", "<>&'"]"#,
    ),
    (
        "integers beyond 2^53 - 1 become strings",
        r#"{"seed":18446744073709551615,"neg":-9007199254740993,"max":9007199254740991}"#,
    ),
    ("nested", r#"{"b":{"d":[{"z":1,"a":2}],"c":null},"a":true}"#),
];

/// Settings documents: JSON formats are hashed by their canonical form, text formats by their bytes.
fn settings_cases() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("a1111-infotext", "text format: the exact bytes, CRLF kept", json!("a fox\r\nNegative prompt: blurry\r\nSteps: 20, Seed: 1")),
        ("pytti-yaml", "text format: trailing spaces and no final newline kept", json!("scenes: a fox  \nsteps: 20")),
        ("comfyui-api", "JSON format with a 64-bit seed", serde_json::from_str(r#"{"3":{"class_type":"KSampler","inputs":{"seed":18446744073709551615,"cfg":7.50,"steps":20}}}"#).unwrap()),
        ("comfyui-api", "the same document with the seed already a string: same hash", json!({"3":{"inputs":{"steps":20,"cfg":7.5,"seed":"18446744073709551615"},"class_type":"KSampler"}})),
        ("deforum-json", "JSON format, non-BMP member names", serde_json::from_str(r#"{"\ud83d\ude00":1,"\uffff":2,"prompts":{"0":"a fox"}}"#).unwrap()),
    ]
}

fn merge_patch_cases() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "change and add",
            json!({"steps": 20, "cfg": 7, "sampler": "euler"}),
            json!({"steps": 30, "cfg": 7, "sampler": "euler", "seed": "5"}),
        ),
        (
            "remove a member",
            json!({"steps": 20, "lora": {"a": 1, "b": 2}}),
            json!({"steps": 20, "lora": {"a": 1}}),
        ),
        (
            "arrays are replaced whole",
            json!({"sizes": [512, 512], "n": 1}),
            json!({"sizes": [768, 512], "n": 1}),
        ),
        (
            "a node changes deep inside a ComfyUI graph",
            json!({"3": {"class_type": "KSampler", "inputs": {"seed": "1", "steps": 20}}, "4": {"class_type": "Loader", "inputs": {"ckpt": "a"}}}),
            json!({"3": {"class_type": "KSampler", "inputs": {"seed": "2", "steps": 20}}, "4": {"class_type": "Loader", "inputs": {"ckpt": "a"}}}),
        ),
    ]
}

pub fn files() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let canonical: Vec<Value> = CANONICAL_INPUTS
        .iter()
        .map(|(name, text)| {
            let parsed: Value = serde_json::from_str(text).unwrap();
            json!({"name": name, "input": text, "canonical": canonical_json(&to_ijson(&parsed)).unwrap()})
        })
        .collect();
    files.insert("json/canonical.json".into(), pretty(&json!(canonical)));
    let settings: Vec<Value> = settings_cases()
        .into_iter()
        .map(|(format, name, data)| {
            let input = match &data {
                Value::String(_) => json!({"format": format, "data": data}),
                _ => json!({"format": format, "data_text": data.to_string()}),
            };
            let mut case = json!({"name": name, "hash": settings_hash(&data).unwrap().to_string()});
            case.as_object_mut()
                .unwrap()
                .extend(input.as_object().unwrap().clone());
            case
        })
        .collect();
    files.insert("json/settings-hash.json".into(), pretty(&json!(settings)));
    let patches: Vec<Value> = merge_patch_cases()
        .into_iter()
        .map(|(name, base, target)| {
            let (patch, lossy) = merge_patch_diff(&base, &target);
            assert!(lossy.is_empty());
            json!({"name": name, "base": base, "base_hash": settings_hash(&base).unwrap().to_string(), "patch": patch,
                   "result": target, "result_hash": settings_hash(&target).unwrap().to_string()})
        })
        .collect();
    files.insert("json/merge-patch.json".into(), pretty(&json!(patches)));
    let private = share_input();
    let shared = share_record(&stemma_model::record_from_value(private.clone()).unwrap()).unwrap();
    let shared: Value =
        serde_json::from_str(&stemma_model::record_to_json(&shared).unwrap()).unwrap();
    files.insert("json/share-profile.json".into(), pretty(&json!([{"name": "paths, hints, location and binary raw", "input": private, "shared": shared}])));
    let with_reference = super::raw_reference_record();
    let mut expanded = stemma_model::parse_record(&with_reference).unwrap();
    let lookup = |origin: &str, key: Option<&str>| -> Vec<Vec<u8>> {
        if (origin, key) == ("png:tEXt", Some("prompt")) {
            vec![super::WORKFLOW.as_bytes().to_vec()]
        } else {
            Vec::new()
        }
    };
    assert_eq!(
        stemma_model::expand_raw_references(&mut expanded, lookup).unwrap(),
        1
    );
    // The record as an importer makes it (the value copied, no hash) becomes the stored record when written into
    // the file that keeps the value.
    let mut imported = expanded.clone();
    for entry in &mut imported.raw {
        entry.sha256 = None;
    }
    let imported_value: Value =
        serde_json::from_str(&stemma_model::record_to_json(&imported).unwrap()).unwrap();
    assert_eq!(
        stemma_model::reference_raw_values(&mut imported, 0, lookup),
        1
    );
    assert_eq!(
        stemma_model::record_to_json(&imported).unwrap(),
        with_reference
    );
    let expanded: Value =
        serde_json::from_str(&stemma_model::record_to_json(&expanded).unwrap()).unwrap();
    let record: Value = serde_json::from_str(&with_reference).unwrap();
    files.insert(
        "json/raw-reference.json".into(),
        pretty(
            &json!([{"file": "valid/raw-reference.png", "imported": imported_value, "record": record, "expanded": expanded}]),
        ),
    );
    files
}

pub fn share_input() -> Value {
    json!({
        "stemma": "1.0",
        "generator": {"name": "comfyui"},
        "prompt": {"positive": "/imagine a fox in the snow"},
        "params": {"seed": "7", "model": {"name": "C:\\Users\\alice\\models\\sdxl.safetensors"}},
        "settings": {"format": "comfyui-api", "data": {"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "C:\\Users\\alice\\models\\sdxl.safetensors"}}, "9": {"class_type": "LoadImage", "inputs": {"image": "/home/alice/private/input.png"}}}, "location": "../renders/settings.json"},
        "raw": [
            {"origin": "png:tEXt", "key": "prompt", "text": "{\"9\":{\"inputs\":{\"image\":\"/home/alice/private/input.png\"}}}", "used": true},
            {"origin": "png:eXIf", "base64": "TU0AKgAAAAg="}
        ],
        "parents": [{"id": format!("sha256:{}", "a".repeat(64)), "relation": "img2img", "hint": "/home/alice/private/input.png"}]
    })
}

#[test]
fn json_vectors_hold_what_the_specification_says() {
    use sha2::{Digest, Sha256};
    let files = files();
    let read = |n: &str| -> Value { serde_json::from_slice(&files[n]).unwrap() };
    for case in read("json/settings-hash.json").as_array().unwrap() {
        if let Some(text) = case["data"].as_str() {
            let hash = format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())));
            assert_eq!(case["hash"], hash.as_str(), "{}", case["name"]);
        }
    }
    let settings = read("json/settings-hash.json");
    assert_eq!(
        settings[2]["hash"], settings[3]["hash"],
        "a seed as a number or as its string hashes the same"
    );
    for case in read("json/merge-patch.json").as_array().unwrap() {
        let mut doc = case["base"].clone();
        apply_merge_patch(&mut doc, &case["patch"]);
        assert_eq!(doc, case["result"], "{}", case["name"]);
    }
    let canonical = read("json/canonical.json");
    assert_eq!(canonical[0]["canonical"], r#"{"a":[1,"x"],"b":1}"#);
    assert_eq!(
        canonical[1]["canonical"],
        "[4.5,1e+30,0,1e+21,1e-7,0.000001,100,1,123456789012345680000,5e-324]"
    );
    assert_eq!(
        canonical[4]["canonical"],
        r#"{"max":9007199254740991,"neg":"-9007199254740993","seed":"18446744073709551615"}"#
    );
    let shared = read("json/share-profile.json")[0]["shared"].to_string();
    for leak in ["alice", "Users", "renders", "location", "TU0AKgAAAAg"] {
        assert!(!shared.contains(leak), "{leak} in {shared}");
    }
}
