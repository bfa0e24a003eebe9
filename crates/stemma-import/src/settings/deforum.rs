//! Deforum's `{timestring}_settings.txt` (Colab and A1111-extension shapes): prompt schedules, negative prompts,
//! seed behaviour.

use super::*;

static DEFORUM_NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?P<ts>\d{14})_settings\.txt$").ok());
static SCHEDULE_FIRST: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*0\s*:\s*\(\s*(-?[\d.]+)\s*\)\s*$").ok());

/// Split a Deforum prompt at ` --neg ` into (positive, negative).
pub fn split_deforum_neg(text: &str) -> (String, Option<String>) {
    match text.split_once("--neg") {
        Some((pos, neg)) => {
            let neg = neg.trim();
            (
                pos.trim().to_string(),
                (!neg.is_empty()).then(|| neg.to_string()),
            )
        }
        None => (text.trim().to_string(), None),
    }
}

fn join_prompt(a: Option<String>, b: &str, sep: &str) -> Option<String> {
    let b = b.trim();
    match (a, b.is_empty()) {
        (Some(a), false) if !a.is_empty() => Some(format!("{a}{sep}{b}")),
        (Some(a), _) => Some(a),
        (None, false) => Some(b.to_string()),
        (None, true) => None,
    }
}

/// Import a Deforum `{timestring}_settings.txt` (Colab/local notebook or A1111 extension).
pub fn import_deforum(name: &str, text: &str) -> Result<RunSettings> {
    let data = parse_json(name, text)?;
    let obj = data.as_object().cloned().unwrap_or_default();
    let mut s = RunSettings::new(Tool::Deforum, "deforum-json", data, Some(name))?;
    let extension = [
        "sd_model_name",
        "deforum_git_commit_id",
        "positive_prompts",
        "animation_prompts_positive",
        "show_info_on_ui",
        "cfg_scale_schedule",
    ]
    .iter()
    .any(|k| obj.contains_key(*k));
    s.variant = Some(
        if extension {
            "deforum-a1111"
        } else {
            "deforum-colab"
        }
        .into(),
    );
    let ts = DEFORUM_NAME
        .as_ref()
        .and_then(|re| re.captures(name))
        .and_then(|c| c.name("ts"))
        .map(|m| m.as_str().to_string())
        .or_else(|| as_str(obj.get("timestring")).map(str::to_string))
        .or_else(|| {
            let batch = as_str(obj.get("batch_name"))?;
            let digits: String = batch.chars().filter(char::is_ascii_digit).collect();
            (digits.len() == 14 && batch.contains(&digits)).then_some(digits)
        });
    if let Some(ts) = &ts {
        s.run_id = Some(format!("deforum:{ts}"));
    }
    if obj.get("resume_from_timestring").and_then(Value::as_bool) == Some(true) {
        if let Some(resumed) = as_str(obj.get("resume_timestring")) {
            s.resumes = Some(resumed.to_string());
            s.warnings.push(format!("this run resumes {resumed}"));
        }
    }
    let mode = as_str(obj.get("animation_mode")).unwrap_or("None");
    s.animated = Some(mode != "None");
    // 2D and 3D warp the previous frame; Video Input and Interpolation start from other images.
    s.feeds_previous_frame = matches!(mode, "2D" | "3D");
    let common_pos = as_str(obj.get("positive_prompts"))
        .or_else(|| as_str(obj.get("animation_prompts_positive")))
        .unwrap_or("")
        .to_string();
    let common_neg = as_str(obj.get("negative_prompts"))
        .or_else(|| as_str(obj.get("animation_prompts_negative")))
        .unwrap_or("")
        .to_string();
    let mut schedule = Vec::new();
    if let Some(Value::Object(prompts)) = obj.get("prompts").or_else(|| obj.get("cond_prompts")) {
        let inverted = !prompts.is_empty()
            && prompts.iter().all(|(k, v)| {
                k.trim().parse::<u64>().is_err()
                    && v.as_str()
                        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
            });
        let uncond = match obj.get("uncond_prompts") {
            Some(Value::Object(u)) => u.clone(),
            _ => Map::new(),
        };
        for (k, v) in prompts {
            // Colab still mode stores {"<prompt>": "00000"} (render.py 93-94).
            let (frame, text) = if inverted {
                (v.as_str().and_then(|v| v.parse().ok()), k.clone())
            } else {
                (
                    k.trim().parse::<u64>().ok(),
                    v.as_str().unwrap_or("").to_string(),
                )
            };
            let Some(frame) = frame else {
                s.warnings.push(format!(
                    "prompt key {k:?} is not a frame number (Parseq or an expression)"
                ));
                continue;
            };
            let (pos, neg) = split_deforum_neg(&text);
            let neg = neg.or_else(|| {
                uncond
                    .get(k)
                    .and_then(|u| u.as_str())
                    .map(str::to_string)
                    .filter(|u| !u.trim().is_empty())
            });
            let positive = join_prompt(
                (!common_pos.trim().is_empty()).then(|| common_pos.trim().to_string()),
                &pos,
                " ",
            )
            .unwrap_or_default();
            // args.py: f"{positive} {prompt} {'' if '--neg' in prompt else '--neg'} {negative}".
            let negative = join_prompt(neg, &common_neg, " ");
            schedule.push(ScheduleEntry {
                start_frame: frame,
                positive,
                negative,
                parts: Vec::new(),
            });
        }
        if inverted {
            s.variant = Some("deforum-colab-still".into());
        }
    } else if let Some(prompt) = as_str(obj.get("prompt")).filter(|p| !p.trim().is_empty()) {
        let (pos, neg) = split_deforum_neg(prompt);
        schedule.push(ScheduleEntry {
            start_frame: 0,
            positive: pos,
            negative: neg,
            parts: Vec::new(),
        });
    }
    schedule.sort_by_key(|e| e.start_frame);
    s.schedule = schedule;

    let p = &mut s.params;
    p.width = as_u64(obj.get("W"));
    p.height = as_u64(obj.get("H"));
    p.steps = as_u64(obj.get("steps"));
    p.sampler = as_str(obj.get("sampler")).map(str::to_string);
    p.cfg_scale = as_f64(obj.get("scale")).or_else(|| {
        as_str(obj.get("cfg_scale_schedule"))
            .and_then(|sch| SCHEDULE_FIRST.as_ref()?.captures(sch))
            .and_then(|c| c.get(1)?.as_str().parse().ok())
    });
    if let Some(model) = as_str(obj.get("sd_model_name")) {
        p.model = Some(ModelRef {
            name: Some(model.to_string()),
            hash: as_str(obj.get("sd_model_hash")).map(str::to_string),
            ..ModelRef::default()
        });
    }
    for key in [
        "animation_mode",
        "seed_behavior",
        "diffusion_cadence",
        "max_frames",
    ] {
        if let Some(v) = obj.get(key) {
            p.extra.insert(key.to_string(), v.clone());
        }
    }
    s.max_frames = as_u64(obj.get("max_frames"));
    s.fps = as_f64(obj.get("fps"));
    s.cadence = as_u64(obj.get("diffusion_cadence")).filter(|c| *c >= 1);
    let engine = as_str(obj.get("frame_interpolation_engine")).unwrap_or("None");
    if engine != "None" && !engine.is_empty() {
        let slow = obj
            .get("frame_interpolation_slow_mo_enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        s.interpolation =
            as_u64(obj.get("frame_interpolation_x_amount")).map(|factor| InterpolationSettings {
                engine: engine.to_string(),
                factor,
                slow_mo: slow
                    .then(|| as_u64(obj.get("frame_interpolation_slow_mo_amount")))
                    .flatten(),
            });
    }
    let behavior = as_str(obj.get("seed_behavior")).unwrap_or("iter");
    let cadence = if s.animated == Some(true) {
        s.cadence.unwrap_or(1)
    } else {
        1
    };
    s.seed = match obj.get("seed").and_then(seed_string) {
        Some(seed) if seed == "-1" => SeedRule::Unknown {
            reason: "seed -1: a random seed was drawn and not saved here".into(),
        },
        Some(seed) => match behavior {
            "fixed" => SeedRule::Fixed { seed },
            "iter" => SeedRule::Increment {
                base: seed,
                every: as_u64(obj.get("seed_iter_N")).unwrap_or(1).max(1),
                cadence,
            },
            other => SeedRule::Unknown {
                reason: format!("seed_behavior {other:?}: per-frame seeds are in the .srt, if any"),
            },
        },
        None => SeedRule::Unknown {
            reason: "no seed in the settings".into(),
        },
    };
    Ok(s)
}
