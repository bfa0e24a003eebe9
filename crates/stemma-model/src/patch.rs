//! RFC 7396 JSON Merge Patch: applying a patch, and computing the patch between two documents.

use serde_json::{Map, Value};

/// Apply an RFC 7396 merge patch to `target` (the algorithm of RFC 7396 §2).
pub fn apply_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_members) = target {
        for (name, value) in patch_members {
            if value.is_null() {
                target_members.remove(name);
            } else {
                let entry = target_members.entry(name.clone()).or_insert(Value::Null);
                apply_merge_patch(entry, value);
            }
        }
    }
}

/// The smallest merge patch that turns `base` into `target`.
///
/// Merge patches cannot express a member whose value is `null` (null deletes); such members of `target` are
/// reported in the returned list of JSON pointers so that callers can warn.
pub fn merge_patch_diff(base: &Value, target: &Value) -> (Value, Vec<String>) {
    let mut lossy = Vec::new();
    let patch = diff_at(base, target, "", &mut lossy);
    (patch.unwrap_or_else(|| Value::Object(Map::new())), lossy)
}

fn diff_at(base: &Value, target: &Value, pointer: &str, lossy: &mut Vec<String>) -> Option<Value> {
    match (base, target) {
        (Value::Object(b), Value::Object(t)) => {
            let mut patch = Map::new();
            for (name, base_value) in b {
                if !t.contains_key(name) {
                    patch.insert(name.clone(), Value::Null);
                } else if let Some(target_value) = t.get(name) {
                    let child = format!("{pointer}/{}", escape_pointer(name));
                    if let Some(p) = diff_at(base_value, target_value, &child, lossy) {
                        patch.insert(name.clone(), p);
                    }
                }
            }
            for (name, target_value) in t {
                if !b.contains_key(name) {
                    let child = format!("{pointer}/{}", escape_pointer(name));
                    collect_nulls(target_value, &child, lossy);
                    patch.insert(name.clone(), target_value.clone());
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        _ if base == target => None,
        _ => {
            collect_nulls(target, pointer, lossy);
            Some(target.clone())
        }
    }
}

fn collect_nulls(value: &Value, pointer: &str, lossy: &mut Vec<String>) {
    match value {
        Value::Null => lossy.push(pointer.to_string()),
        Value::Object(members) => {
            for (name, v) in members {
                collect_nulls(v, &format!("{pointer}/{}", escape_pointer(name)), lossy);
            }
        }
        _ => {}
    }
}

fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7396_appendix_a_examples() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            apply_merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }

    #[test]
    fn diff_then_apply_gives_the_target() {
        let base = json!({"steps": 20, "cfg": 7, "sampler": "Euler", "lora": {"a": 1}});
        let target = json!({"steps": 30, "cfg": 7, "lora": {"a": 1, "b": 0.5}, "extra": [1, 2]});
        let (patch, lossy) = merge_patch_diff(&base, &target);
        assert!(lossy.is_empty());
        assert_eq!(
            patch,
            json!({"steps": 30, "sampler": null, "lora": {"b": 0.5}, "extra": [1, 2]})
        );
        let mut rebuilt = base.clone();
        apply_merge_patch(&mut rebuilt, &patch);
        assert_eq!(rebuilt, target);
    }

    #[test]
    fn diff_reports_nulls_it_cannot_express() {
        let (_, lossy) = merge_patch_diff(&json!({"a": 1}), &json!({"a": 1, "b": {"c": null}}));
        assert_eq!(lossy, vec!["/b/c".to_string()]);
    }
}
