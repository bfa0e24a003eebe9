use super::*;
use serde_json::json;

fn analyse(v: Value) -> Analysis {
    Graph::from_api(&v).unwrap().analyse(&["SaveImage"])
}

fn base(a: &Analysis) -> &SamplerFacts {
    let id = &a.stages.last().unwrap()[0];
    a.samplers.iter().find(|f| &f.node == id).unwrap()
}

fn fin(a: &Analysis) -> &SamplerFacts {
    let id = &a.stages[0][0];
    a.samplers.iter().find(|f| &f.node == id).unwrap()
}

/// A txt2img graph; `extra` nodes are merged in (and may replace the defaults).
fn simple(extra: Value) -> Value {
    let mut g = json!({
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "base.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
        "5": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
              "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "x"}}
    });
    if let (Some(g), Some(e)) = (g.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            g.insert(k.clone(), v.clone());
        }
    }
    g
}

#[test]
fn plain_txt2img() {
    let a = analyse(simple(json!({})));
    let f = base(&a);
    assert_eq!(f.seed.as_deref(), Some("42"));
    assert_eq!(f.steps, Some(20));
    assert_eq!(f.model.as_deref(), Some("base.safetensors"));
    assert_eq!(f.positive, Some(Text::Known("a cat".into())));
    assert_eq!(f.negative, Some(Text::Known("blurry".into())));
    assert_eq!(a.size, Some((512, 768)));
    assert_eq!(a.output.as_deref(), Some("7"));
}

#[test]
fn reroute_chains_and_primitives_are_followed() {
    let a = analyse(simple(json!({
        "10": {"class_type": "PrimitiveString", "inputs": {"value": "from a primitive"}},
        "11": {"class_type": "Reroute", "inputs": {"": ["10", 0]}},
        "12": {"class_type": "Reroute", "inputs": {"": ["11", 0]}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": ["12", 0], "clip": ["1", 1]}},
        "13": {"class_type": "CR Seed", "inputs": {"seed": 18446744073709551615u64}},
        "14": {"class_type": "Reroute", "inputs": {"": ["4", 0]}},
        "5": {"class_type": "KSampler", "inputs": {"seed": ["13", 0], "steps": 20, "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
              "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["14", 0]}}
    })));
    let f = base(&a);
    assert_eq!(f.positive, Some(Text::Known("from a primitive".into())));
    assert_eq!(f.seed.as_deref(), Some("18446744073709551615"));
    assert_eq!(a.size, Some((512, 768)));
}

#[test]
fn string_concat_of_known_parts_is_joined() {
    let a = analyse(simple(json!({
        "10": {"class_type": "PrimitiveString", "inputs": {"value": "a cat"}},
        "11": {"class_type": "StringConcatenate", "inputs": {"string_a": ["10", 0], "string_b": "on a mat", "delimiter": ", "}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": ["11", 0], "clip": ["1", 1]}}
    })));
    assert_eq!(
        base(&a).positive,
        Some(Text::Computed("a cat, on a mat".into())),
        "composed at run time: reported apart from the prompt"
    );
}

#[test]
fn runtime_text_is_unknown_and_switches_fall_back_to_the_typed_text() {
    let a = analyse(simple(json!({
        "10": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "user text"}},
        "11": {"class_type": "TextGenerate", "inputs": {"prompt": ["10", 0]}},
        "12": {"class_type": "PrimitiveBoolean", "inputs": {"value": true}},
        "13": {"class_type": "ComfySwitchNode", "inputs": {"switch": ["12", 0], "on_true": ["11", 0], "on_false": ["10", 0]}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": ["13", 0], "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": ["11", 0], "clip": ["1", 1]}}
    })));
    let f = base(&a);
    assert_eq!(f.positive, Some(Text::Known("user text".into())));
    assert_eq!(f.negative, Some(Text::Unknown));
    assert!(a.warnings.iter().any(|w| w.contains("switch")));
}

#[test]
fn conditioning_combine_collects_both_and_zero_out_has_no_text() {
    let a = analyse(simple(json!({
        "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "a hat", "clip": ["1", 1]}},
        "9": {"class_type": "ConditioningSetArea", "inputs": {"conditioning": ["8", 0], "width": 64, "height": 64}},
        "10": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["2", 0], "conditioning_2": ["9", 0]}},
        "11": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["2", 0]}},
        "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
              "positive": ["10", 0], "negative": ["11", 0], "latent_image": ["4", 0]}}
    })));
    let f = base(&a);
    assert_eq!(f.positive, Some(Text::Known("a cat, a hat".into())));
    assert_eq!(f.negative, Some(Text::Absent));
}

#[test]
fn sampler_custom_advanced_with_guider_sigmas_noise_and_flux_guidance() {
    let a = analyse(json!({
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors"}},
        "2": {"class_type": "ModelSamplingFlux", "inputs": {"model": ["1", 0]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox", "clip": ["9", 0]}},
        "4": {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["3", 0]}},
        "5": {"class_type": "CFGGuider", "inputs": {"cfg": 1.5, "model": ["2", 0], "positive": ["4", 0], "negative": ["3", 0]}},
        "6": {"class_type": "RandomNoise", "inputs": {"noise_seed": 7}},
        "7": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "8": {"class_type": "BasicScheduler", "inputs": {"scheduler": "simple", "steps": 28, "denoise": 1.0, "model": ["2", 0]}},
        "10": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 1024}},
        "11": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["6", 0], "guider": ["5", 0],
               "sampler": ["7", 0], "sigmas": ["8", 0], "latent_image": ["10", 0]}},
        "12": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0]}},
        "13": {"class_type": "SaveImage", "inputs": {"images": ["12", 0]}}
    }));
    let f = base(&a);
    assert_eq!(f.seed.as_deref(), Some("7"));
    assert_eq!(f.steps, Some(28));
    assert_eq!(f.cfg, Some(1.5));
    assert_eq!(f.sampler.as_deref(), Some("euler"));
    assert_eq!(f.scheduler.as_deref(), Some("simple"));
    assert_eq!(f.model.as_deref(), Some("flux1-dev.safetensors"));
    assert_eq!(f.guidance, Some(3.5));
    assert_eq!(f.positive, Some(Text::Known("a fox".into())));
    assert_eq!(a.size, Some((1024, 1024)));
}

#[test]
fn basic_guider_has_no_negative_and_karras_scheduler_names_itself() {
    let a = analyse(json!({
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "u"}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox"}},
        "5": {"class_type": "BasicGuider", "inputs": {"model": ["1", 0], "conditioning": ["3", 0]}},
        "8": {"class_type": "KarrasScheduler", "inputs": {"steps": 12, "sigma_max": 14.6}},
        "11": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["6", 0], "guider": ["5", 0],
               "sigmas": ["8", 0], "latent_image": ["10", 0]}},
        "12": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0]}},
        "13": {"class_type": "PreviewImage", "inputs": {"images": ["12", 0]}}
    }));
    let f = base(&a);
    assert_eq!(f.negative, Some(Text::Absent));
    assert_eq!(f.cfg, None);
    assert_eq!(f.scheduler.as_deref(), Some("karras"));
    assert_eq!(f.steps, Some(12));
    assert_eq!(f.seed, None, "the noise node is missing: no seed");
}

#[test]
fn lora_chains_are_collected_in_application_order() {
    let a = analyse(simple(json!({
        "20": {"class_type": "LoraLoader", "inputs": {"lora_name": "first.safetensors", "strength_model": 0.8,
               "strength_clip": 1.0, "model": ["1", 0], "clip": ["1", 1]}},
        "21": {"class_type": "LoraLoaderModelOnly", "inputs": {"lora_name": "second.safetensors", "strength_model": 0.5,
               "model": ["20", 0]}},
        "22": {"class_type": "CLIPSetLastLayer", "inputs": {"stop_at_clip_layer": -2, "clip": ["20", 1]}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["22", 0]}},
        "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["21", 0],
              "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}}
    })));
    let f = base(&a);
    assert_eq!(f.model.as_deref(), Some("base.safetensors"));
    assert_eq!(
        f.loras,
        vec![
            ("first.safetensors".to_string(), Some(0.8)),
            ("second.safetensors".to_string(), Some(0.5))
        ]
    );
    assert_eq!(f.clip_skip, Some(2));
}

#[test]
fn hires_chain_reports_first_pass_and_final_prompt() {
    let a = analyse(simple(json!({
        "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat, detailed", "clip": ["1", 1]}},
        "30": {"class_type": "LatentUpscaleBy", "inputs": {"scale_by": 1.5, "samples": ["5", 0]}},
        "31": {"class_type": "KSampler", "inputs": {"seed": 99, "steps": 10, "cfg": 5.0,
               "sampler_name": "dpmpp_2m", "scheduler": "karras", "denoise": 0.4, "model": ["1", 0],
               "positive": ["8", 0], "negative": ["3", 0], "latent_image": ["30", 0]}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["31", 0]}},
        "40": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0]}},
        "41": {"class_type": "PreviewImage", "inputs": {"images": ["40", 0]}}
    })));
    assert_eq!(a.output.as_deref(), Some("7"), "the longest chain wins");
    assert_eq!(
        a.stages,
        vec![vec!["31".to_string()], vec!["5".to_string()]]
    );
    assert_eq!(base(&a).seed.as_deref(), Some("42"));
    assert_eq!(
        fin(&a).positive,
        Some(Text::Known("a cat, detailed".into()))
    );
    assert_eq!(a.hires_scale, Some(1.5));
    assert_eq!(a.size, Some((512, 768)));
}

#[test]
fn image_upscale_then_encode_is_a_second_pass_and_load_image_is_img2img() {
    let a = analyse(simple(json!({
        "30": {"class_type": "LoadImage", "inputs": {"image": "input.png"}},
        "31": {"class_type": "ImageScale", "inputs": {"width": 640, "height": 640, "image": ["30", 0]}},
        "32": {"class_type": "VAEEncode", "inputs": {"pixels": ["31", 0], "vae": ["1", 2]}},
        "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 0.6, "model": ["1", 0],
              "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["32", 0]}}
    })));
    assert_eq!(a.stages.len(), 1);
    assert_eq!(
        a.size,
        Some((640, 640)),
        "the graph resized the input image"
    );
    assert_eq!(a.files, vec![("img2img", "input.png".to_string())]);
}

#[test]
fn cycles_and_missing_links_do_not_hang_or_panic() {
    let a = analyse(simple(json!({
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": ["50", 0], "clip": ["1", 1]}},
        "50": {"class_type": "Reroute", "inputs": {"": ["51", 0]}},
        "51": {"class_type": "Reroute", "inputs": {"": ["50", 0]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": ["404", 0], "clip": ["1", 1]}},
        "60": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["61", 0], "conditioning_2": ["2", 0]}},
        "61": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["60", 0], "conditioning_2": ["2", 0]}},
        "4": {"class_type": "LatentUpscale", "inputs": {"samples": ["5", 0], "width": 8, "height": 8}},
        "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
              "positive": ["60", 0], "negative": ["3", 0], "latent_image": ["4", 0]}}
    })));
    let f = base(&a);
    assert_eq!(f.positive, Some(Text::Unknown));
    assert_eq!(f.negative, Some(Text::Unknown));
    assert_eq!(a.stages.len(), 1, "a sampler feeding itself is one pass");
}

#[test]
fn several_samplers_merged_by_an_image_stitch_keep_only_common_values() {
    let a = analyse(simple(json!({
        "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "a dog", "clip": ["1", 1]}},
        "9": {"class_type": "KSampler", "inputs": {"seed": 43, "steps": 20, "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
              "positive": ["8", 0], "negative": ["3", 0], "latent_image": ["4", 0]}},
        "10": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0]}},
        "11": {"class_type": "ImageStitch", "inputs": {"image1": ["6", 0], "image2": ["10", 0]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["11", 0]}}
    })));
    assert_eq!(a.stages, vec![vec!["5".to_string(), "9".to_string()]]);
}

#[test]
fn without_output_nodes_the_last_sampler_is_used() {
    let mut g = simple(json!({}));
    if let Some(o) = g.as_object_mut() {
        o.remove("7");
    }
    let a = analyse(g);
    assert_eq!(a.stages, vec![vec!["5".to_string()]]);
    assert!(a.output.is_none());
}

#[test]
fn numeric_link_ids_and_unknown_custom_samplers_are_understood() {
    let a = analyse(simple(json!({
        "5": {"class_type": "MyFancySampler", "inputs": {"seed": 5, "steps": 9, "cfg": 3.0,
              "sampler_name": "lcm", "model": [1, 0], "positive": [2, 0], "negative": [3, 0],
              "latent_image": [4, 0]}}
    })));
    let f = base(&a);
    assert_eq!(f.steps, Some(9));
    assert_eq!(f.model.as_deref(), Some("base.safetensors"));
    assert_eq!(f.positive, Some(Text::Known("a cat".into())));
}

#[test]
fn efficient_loader_texts_latent_and_basic_pipes() {
    let a = analyse(json!({
        "1": {"class_type": "Efficient Loader", "inputs": {"ckpt_name": "eff.safetensors",
              "positive": "a castle", "negative": "ugly", "empty_latent_width": 832,
              "empty_latent_height": 1216}},
        "2": {"class_type": "ToBasicPipe", "inputs": {"model": ["1", 0], "clip": ["1", 5], "vae": ["1", 4],
              "positive": ["1", 1], "negative": ["1", 2]}},
        "3": {"class_type": "FromBasicPipe", "inputs": {"basic_pipe": ["2", 0]}},
        "5": {"class_type": "KSampler (Efficient)", "inputs": {"seed": 3, "steps": 25, "cfg": 6.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["3", 0],
              "positive": ["3", 3], "negative": ["3", 4], "latent_image": ["1", 3]}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0]}}
    }));
    let f = base(&a);
    assert_eq!(f.positive, Some(Text::Known("a castle".into())));
    assert_eq!(f.negative, Some(Text::Known("ugly".into())));
    assert_eq!(f.model.as_deref(), Some("eff.safetensors"));
    assert_eq!(a.size, Some((832, 1216)));
}

#[test]
fn controlnet_outputs_map_to_positive_and_negative() {
    let a = analyse(simple(json!({
        "20": {"class_type": "ControlNetApplyAdvanced", "inputs": {"positive": ["2", 0], "negative": ["3", 0],
               "control_net": ["21", 0], "image": ["22", 0], "strength": 1.0}},
        "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
              "positive": ["20", 0], "negative": ["20", 1], "latent_image": ["4", 0]}}
    })));
    let f = base(&a);
    assert_eq!(f.positive, Some(Text::Known("a cat".into())));
    assert_eq!(f.negative, Some(Text::Known("blurry".into())));
}

#[test]
fn sampler_custom_with_split_sigmas_and_a_sampler_node() {
    let a = analyse(simple(json!({
        "20": {"class_type": "BasicScheduler", "inputs": {"scheduler": "karras", "steps": 30, "denoise": 1.0}},
        "21": {"class_type": "SplitSigmas", "inputs": {"sigmas": ["20", 0], "step": 10}},
        "22": {"class_type": "SamplerDPMPP_2M_SDE", "inputs": {"solver_type": "midpoint"}},
        "5": {"class_type": "SamplerCustom", "inputs": {"noise_seed": 8, "cfg": 4.5, "add_noise": true,
              "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "sampler": ["22", 0],
              "sigmas": ["21", 1], "latent_image": ["4", 0]}}
    })));
    let f = base(&a);
    assert_eq!(f.steps, Some(30));
    assert_eq!(f.scheduler.as_deref(), Some("karras"));
    assert_eq!(f.sampler.as_deref(), Some("dpmpp_2m_sde"));
    assert_eq!(f.seed.as_deref(), Some("8"));
    assert_eq!(f.cfg, Some(4.5));
}

#[test]
fn index_switches_and_selector_nodes_are_resolved() {
    let a = analyse(simple(json!({
        "20": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox", "clip": ["1", 1]}},
        "21": {"class_type": "ImpactSwitch", "inputs": {"select": 2, "input1": ["2", 0], "input2": ["20", 0]}},
        "22": {"class_type": "Checkpoint Selector", "inputs": {"ckpt_name": "picked.safetensors"}},
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ["22", 0]}},
        "23": {"class_type": "Fancy Int", "inputs": {"number": 31}},
        "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": ["23", 0], "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
              "positive": ["21", 0], "negative": ["3", 0], "latent_image": ["4", 0]}}
    })));
    let f = base(&a);
    assert_eq!(f.positive, Some(Text::Known("a fox".into())));
    assert_eq!(f.model.as_deref(), Some("picked.safetensors"));
    assert_eq!(f.steps, Some(31));
}

#[test]
fn a_sampler_with_its_own_image_output_is_found_from_the_saver() {
    let a = analyse(simple(json!({
        "5": {"class_type": "KSampler (Efficient)", "inputs": {"seed": 9, "steps": 20, "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
              "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["5", 5]}},
        "8": {"class_type": "PreviewImage", "inputs": {"images": ["9", 0]}},
        "9": {"class_type": "LoadImage", "inputs": {"image": "ref.png"}}
    })));
    assert_eq!(a.output.as_deref(), Some("7"));
    assert_eq!(base(&a).seed.as_deref(), Some("9"));
}

#[test]
fn power_lora_loader_keeps_its_order_and_skips_disabled_loras() {
    let a = analyse(simple(json!({
        "20": {"class_type": "Power Lora Loader (rgthree)", "inputs": {
               "lora_1": {"on": true, "lora": "a.safetensors", "strength": 0.5},
               "lora_2": {"on": false, "lora": "off.safetensors", "strength": 1.0},
               "lora_3": {"on": true, "lora": "b.safetensors", "strength": 0.7},
               "model": ["1", 0], "clip": ["1", 1]}},
        "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
              "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["20", 0],
              "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}}
    })));
    let names: Vec<&str> = base(&a).loras.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(names, vec!["a.safetensors", "b.safetensors"]);
}

#[test]
fn two_expert_video_chain_reads_the_first_expert_and_the_conditioning_latent() {
    let a = analyse(json!({
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "high.safetensors"}},
        "2": {"class_type": "UNETLoader", "inputs": {"unet_name": "low.safetensors"}},
        "5": {"class_type": "LoadImage", "inputs": {"image": "start.png"}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "a bird"}},
        "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark"}},
        "11": {"class_type": "WanFirstLastFrameToVideo", "inputs": {"positive": ["7", 0], "negative": ["8", 0],
               "start_image": ["5", 0], "width": 480, "height": 544, "length": 25}},
        "12": {"class_type": "KSamplerAdvanced", "inputs": {"model": ["1", 0], "positive": ["11", 0],
               "negative": ["11", 1], "latent_image": ["11", 2], "noise_seed": 301, "steps": 4, "cfg": 1.0,
               "sampler_name": "euler", "scheduler": "simple", "start_at_step": 0, "end_at_step": 2}},
        "13": {"class_type": "KSamplerAdvanced", "inputs": {"model": ["2", 0], "positive": ["11", 0],
               "negative": ["11", 1], "latent_image": ["12", 0], "noise_seed": 301, "steps": 4, "cfg": 1.0,
               "sampler_name": "euler", "scheduler": "simple", "start_at_step": 2, "end_at_step": 10000}},
        "14": {"class_type": "VAEDecode", "inputs": {"samples": ["13", 0]}},
        "15": {"class_type": "VHS_VideoCombine", "inputs": {"images": ["14", 0], "frame_rate": 16}}
    }));
    assert_eq!(a.stages.len(), 2);
    let f = base(&a);
    assert_eq!(f.model.as_deref(), Some("high.safetensors"));
    assert_eq!(f.positive, Some(Text::Known("a bird".into())));
    assert_eq!(f.negative, Some(Text::Known("text, watermark".into())));
    assert_eq!(a.size, Some((480, 544)));
    assert_eq!(a.files, vec![("init", "start.png".to_string())]);
}

#[test]
fn video_wrapper_text_embeds_carry_both_prompts() {
    let a = analyse(json!({
        "198": {"class_type": "WanVideoModelLoader", "inputs": {"model": "wan\\wan2.1.safetensors"}},
        "232": {"class_type": "WanVideoTextEmbedBridge", "inputs": {"positive": ["234", 0], "negative": ["235", 0]}},
        "234": {"class_type": "CLIPTextEncode", "inputs": {"text": "positive prompt"}},
        "235": {"class_type": "CLIPTextEncode", "inputs": {"text": "negative prompt"}},
        "240": {"class_type": "WanVideoEmptyEmbeds", "inputs": {"width": 832, "height": 480, "num_frames": 81}},
        "252": {"class_type": "WanVideoSampler", "inputs": {"steps": 30, "cfg": 6.0, "seed": 1234,
                "scheduler": "unipc", "denoise_strength": 1.0, "model": ["198", 0],
                "text_embeds": ["232", 0], "image_embeds": ["240", 0]}}
    }));
    let f = base(&a);
    assert_eq!(f.sampler.as_deref(), Some("unipc"));
    assert_eq!(f.model.as_deref(), Some("wan\\wan2.1.safetensors"));
    assert_eq!(f.positive, Some(Text::Known("positive prompt".into())));
    assert_eq!(f.negative, Some(Text::Known("negative prompt".into())));
    assert_eq!(a.size, Some((832, 480)));

    let a = analyse(json!({
        "1": {"class_type": "WanVideoTextEncode", "inputs": {"positive_prompt": "a fox", "negative_prompt": "blur"}},
        "2": {"class_type": "WanVideoSampler", "inputs": {"steps": 4, "cfg": 1.0, "seed": 1,
              "scheduler": "euler", "text_embeds": ["1", 0]}}
    }));
    assert_eq!(base(&a).negative, Some(Text::Known("blur".into())));
}

#[test]
fn long_chains_and_diamond_lattices_stay_bounded() {
    // 5000 reroutes in a row, and 60 levels of ConditioningCombine each combining the level below twice
    // (2^60 paths without a visit budget).
    let mut g = simple(json!({}));
    let o = g.as_object_mut().unwrap();
    o.insert(
        "r0".into(),
        json!({"class_type": "Reroute", "inputs": {"": ["2", 0]}}),
    );
    for i in 1..5000 {
        o.insert(
            format!("r{i}"),
            json!({"class_type": "Reroute", "inputs": {"": [format!("r{}", i - 1), 0]}}),
        );
    }
    o.insert(
        "c0".into(),
        json!({"class_type": "CLIPTextEncode", "inputs": {"text": "x"}}),
    );
    for i in 1..60 {
        let below = format!("c{}", i - 1);
        o.insert(
            format!("c{i}"),
            json!({"class_type": "ConditioningCombine",
                   "inputs": {"conditioning_1": [below.clone(), 0], "conditioning_2": [below, 0]}}),
        );
    }
    o.insert(
        "5".into(),
        json!({"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
               "sampler_name": "euler", "scheduler": "normal", "model": ["1", 0],
               "positive": ["c59", 0], "negative": ["r4999", 0], "latent_image": ["4", 0]}}),
    );
    let start = std::time::Instant::now();
    let a = analyse(g);
    assert!(start.elapsed().as_secs() < 5);
    let f = base(&a);
    assert_eq!(f.positive, Some(Text::Unknown));
    assert_eq!(f.negative, Some(Text::Unknown), "beyond the depth limit");
    assert!(a.warnings.iter().any(|w| w.contains("budget")));
}
