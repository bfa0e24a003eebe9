//! The shape of a ComfyUI document, read without building it: enough to tell an API graph from an editor workflow
//! and to see Civitai's workflow marks, so that a workflow stored next to an API graph is checked but never
//! built (it is as large as the graph, and only the graph is used then).
//!
//! Reading succeeds exactly when `serde_json::from_str::<Value>` does: every value goes through the same
//! `deserialize_any` path (same syntax, number and nesting-depth checks); only nothing is allocated.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// What the ComfyUI importer needs to know about a document.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The document is a JSON object.
    pub object: bool,
    /// A member is an object with a `class_type` key (an API graph).
    pub has_nodes: bool,
    /// The `nodes` member is an array (an editor workflow).
    pub nodes_array: bool,
    /// The `extra` member is an object with an `airs` or `ckpt_airs` key (Civitai's workflow marks).
    pub civitai_marks: bool,
    /// A member name occurs twice (the built document keeps only the last value: the caller builds it).
    pub duplicate_key: bool,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_none<E>(self) -> Result<Shape, E> {
        Ok(Shape::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Shape::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut shape = Shape {
            object: true,
            ..Shape::default()
        };
        let mut keys: Vec<Key<'de>> = Vec::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let member = map.next_value::<Member>()?;
            shape.has_nodes |= member.object && member.class_type;
            match key.0.as_ref() {
                "nodes" => shape.nodes_array = member.array,
                "extra" => shape.civitai_marks = member.object && member.airs,
                _ => {}
            }
            if keys.iter().any(|k| k.0 == key.0) {
                shape.duplicate_key = true;
            }
            keys.push(key);
        }
        Ok(shape)
    }
}

/// A member name, borrowed when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// One member's value: its kind, and the keys the importer looks at.
#[derive(Default)]
struct Member {
    object: bool,
    array: bool,
    class_type: bool,
    airs: bool,
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MemberVisitor;
        impl<'de> Visitor<'de> for MemberVisitor {
            type Value = Member;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Member, E> {
                Ok(Member::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Member, E> {
                Ok(Member::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Member, E> {
                Ok(Member::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Member, E> {
                Ok(Member::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Member, E> {
                Ok(Member::default())
            }
            fn visit_unit<E>(self) -> Result<Member, E> {
                Ok(Member::default())
            }
            fn visit_none<E>(self) -> Result<Member, E> {
                Ok(Member::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Member, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Member {
                    array: true,
                    ..Member::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member, A::Error> {
                let mut member = Member {
                    object: true,
                    ..Member::default()
                };
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    map.next_value::<Skip>()?;
                    match key.0.as_ref() {
                        "class_type" => member.class_type = true,
                        "airs" | "ckpt_airs" => member.airs = true,
                        _ => {}
                    }
                }
                Ok(member)
            }
        }
        d.deserialize_any(MemberVisitor)
    }
}

/// Any JSON value, checked and dropped.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SkipVisitor;
        impl<'de> Visitor<'de> for SkipVisitor {
            type Value = Skip;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_unit<E>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_none<E>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Skip)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
                while map.next_entry::<Skip, Skip>()?.is_some() {}
                Ok(Skip)
            }
        }
        d.deserialize_any(SkipVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn shape(text: &str) -> Option<Shape> {
        serde_json::from_str::<Shape>(text).ok()
    }

    #[test]
    fn tells_graphs_from_workflows() {
        let api = shape(r#"{"3": {"class_type": "KSampler", "inputs": {"seed": 1}}, "extra": []}"#)
            .unwrap();
        assert!(api.object && api.has_nodes && !api.nodes_array && !api.civitai_marks);
        let wf = shape(r#"{"nodes": [{"id": 1}], "links": [], "extra": {"airs": []}}"#).unwrap();
        assert!(wf.object && !wf.has_nodes && wf.nodes_array && wf.civitai_marks);
        let both = shape(r#"{"prompt": {}, "workflow": {"nodes": []}}"#).unwrap();
        assert!(both.object && !both.has_nodes && !both.nodes_array);
        assert!(shape(r#"{"a": 1, "a": 2}"#).unwrap().duplicate_key);
        assert!(shape(r#"{"a\u0062": 1, "ab": 2}"#).unwrap().duplicate_key);
        assert!(!shape("[1, 2]").unwrap().object);
    }

    #[test]
    fn accepts_exactly_what_a_value_accepts() {
        let deep_ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
        let deep_bad = format!("{}{}", "[".repeat(129), "]".repeat(129));
        let deep_obj = format!("{{\"a\": {}1{}}}", "[".repeat(127), "]".repeat(127));
        for text in [
            "{}",
            "{\"a\": NaN}",
            "{\"a\": 1e999}",
            "{\"a\": 1} x",
            "{\"a\": 1}  ",
            "{\"a\": \"\\x\"}",
            "{\"a\": [1, 2,]}",
            "{\"a\": -}",
            "{1: 2}",
            "\"text\"",
            "nul",
            deep_ok.as_str(),
            deep_bad.as_str(),
            deep_obj.as_str(),
        ] {
            assert_eq!(
                serde_json::from_str::<Shape>(text).is_ok(),
                serde_json::from_str::<Value>(text).is_ok(),
                "{text}"
            );
        }
    }
}
