//! Combining the layers of one file: the record keeps every field its own layer has, and takes each field it
//! lacks from the most trustworthy other layer that has it ([`FIELDS`] lists the fields that combine).

use stemma_model::{RawEntry, Record};

use super::Layer;
use crate::Tier;

/// Does the record have this field, and copy it from another record.
struct Field {
    path: &'static str,
    has: fn(&Record) -> bool,
    take: fn(&mut Record, &Record),
}

fn text(t: Option<&String>) -> bool {
    t.is_some_and(|t| !t.trim().is_empty())
}

macro_rules! param {
    ($path:literal, $field:ident) => {
        Field {
            path: $path,
            has: |r| r.params.as_ref().is_some_and(|p| p.$field.is_some()),
            take: |r, from| {
                r.params_mut().$field = from.params.as_ref().and_then(|p| p.$field.clone());
            },
        }
    };
}

/// The fields that combine, in the order they are filled. Prompts are the reason this exists: a graph that
/// computes its prompt at run time does not hold the text the generator used, a text layer beside it does.
const FIELDS: &[Field] = &[
    Field {
        path: "prompt.positive",
        has: |r| text(r.prompt.as_ref().and_then(|p| p.positive.as_ref())),
        take: |r, from| {
            r.prompt_mut().positive = from.prompt.as_ref().and_then(|p| p.positive.clone());
        },
    },
    Field {
        path: "prompt.negative",
        has: |r| text(r.prompt.as_ref().and_then(|p| p.negative.as_ref())),
        take: |r, from| {
            r.prompt_mut().negative = from.prompt.as_ref().and_then(|p| p.negative.clone());
        },
    },
    param!("params.seed", seed),
    param!("params.steps", steps),
    param!("params.cfg_scale", cfg_scale),
    param!("params.sampler", sampler),
    param!("params.scheduler", scheduler),
    param!("params.width", width),
    param!("params.height", height),
    param!("params.model", model),
];

/// Fill the fields `record` lacks from `others` (each with its index in `layers`, most trustworthy first).
/// Layers of the file's name never fill fields: names are lossy fragments. The raw entries each field was read
/// from are marked `used` in `record` (added when `record` does not list them). Returns, per layer that supplied
/// something, the fields it supplied.
pub fn combine(
    record: &mut Record,
    others: &[(usize, &Record)],
    layers: &[Layer],
) -> Vec<(usize, Vec<String>)> {
    let mut filled: Vec<(usize, Vec<String>)> = Vec::new();
    for field in FIELDS {
        if (field.has)(record) {
            continue;
        }
        let donor = others.iter().find(|(at, other)| {
            layers.get(*at).is_some_and(|l| l.tier != Tier::Name) && (field.has)(other)
        });
        let Some((at, other)) = donor else {
            continue;
        };
        (field.take)(record, other);
        match filled.iter_mut().find(|(a, _)| a == at) {
            Some((_, fields)) => fields.push(field.path.to_string()),
            None => filled.push((*at, vec![field.path.to_string()])),
        }
    }
    for (at, _) in &filled {
        let Some((_, other)) = others.iter().find(|(a, _)| a == at) else {
            continue;
        };
        for used in other.raw.iter().filter(|e| e.used) {
            mark_used(&mut record.raw, used);
        }
    }
    filled
}

fn mark_used(raw: &mut Vec<RawEntry>, used: &RawEntry) {
    match raw
        .iter_mut()
        .find(|e| e.origin == used.origin && e.key == used.key)
    {
        Some(e) => e.used = true,
        None => raw.push(used.clone()),
    }
}

/// The top-level fields `record` has (taken before combining: what its own layer supplied).
pub(super) fn present_fields(record: &Record) -> Vec<String> {
    let present = [
        ("generator", record.generator.is_some()),
        ("prompt", record.prompt.is_some()),
        ("params", record.params.is_some()),
        ("settings", record.settings.is_some()),
        ("parents", !record.parents.is_empty()),
        ("sequence", record.sequence.is_some()),
        ("run", record.run.is_some()),
        ("frames", !record.frames.is_empty()),
        ("created", record.created.is_some()),
    ];
    present
        .iter()
        .filter(|(_, has)| *has)
        .map(|(name, _)| name.to_string())
        .collect()
}
