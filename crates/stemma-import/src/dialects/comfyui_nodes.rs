//! What ComfyUI nodes do, as data: the table users extend when a custom node pack is not understood.
//!
//! Every rule of the graph walk in `comfyui_graph.rs` asks this module which role a `class_type` plays. A class
//! that is listed nowhere is handled by the generic rules at the end of each lookup (a node with `steps`, `cfg`
//! and a latent input is a sampler, a node with a `conditioning` input passes conditioning through, ...).
//!
//! Input paths: `"guider>cfg"` means "follow the link in input `guider`, then read input `cfg` of that node";
//! alternatives are separated by `|` and tried in order.

/// Where a sampler node keeps its parameters (input paths, see the module docs). Empty string: not available.
#[derive(Debug, Clone, Copy)]
pub struct SamplerSpec {
    pub class: &'static str,
    pub seed: &'static str,
    pub steps: &'static str,
    pub cfg: &'static str,
    pub sampler: &'static str,
    pub scheduler: &'static str,
    pub denoise: &'static str,
    pub positive: &'static str,
    pub negative: &'static str,
    pub model: &'static str,
    pub latent: &'static str,
}

/// The input names of a plain `KSampler`; also used for unknown classes that look like a sampler.
pub const GENERIC_SAMPLER: SamplerSpec = SamplerSpec {
    class: "",
    seed: "seed|noise_seed",
    steps: "steps",
    cfg: "cfg",
    sampler: "sampler_name",
    scheduler: "scheduler",
    denoise: "denoise",
    positive: "positive",
    negative: "negative",
    model: "model",
    latent: "latent_image|latent|samples|latents",
};

/// Sampler nodes. Classes with `KSampler`-like inputs need no row (the generic rule finds them).
pub const SAMPLERS: &[SamplerSpec] = &[
    SamplerSpec {
        class: "KSampler",
        ..GENERIC_SAMPLER
    },
    SamplerSpec {
        class: "KSamplerAdvanced",
        seed: "noise_seed|seed",
        ..GENERIC_SAMPLER
    },
    SamplerSpec {
        class: "SamplerCustom",
        seed: "noise_seed",
        steps: "sigmas>steps|sigmas>sigmas>steps",
        cfg: "cfg",
        sampler: "sampler>sampler_name",
        scheduler: "sigmas>scheduler|sigmas>sigmas>scheduler",
        denoise: "sigmas>denoise|sigmas>sigmas>denoise",
        ..GENERIC_SAMPLER
    },
    SamplerSpec {
        class: "SamplerCustomAdvanced",
        seed: "noise>noise_seed|noise>seed",
        steps: "sigmas>steps|sigmas>sigmas>steps",
        cfg: "guider>cfg|guider>cfg_conds",
        sampler: "sampler>sampler_name",
        scheduler: "sigmas>scheduler|sigmas>sigmas>scheduler",
        denoise: "sigmas>denoise|sigmas>sigmas>denoise",
        positive: "guider>positive|guider>conditioning|guider>cond1",
        negative: "guider>negative",
        model: "guider>model|sigmas>model",
        latent: "latent_image",
    },
    SamplerSpec {
        class: "KSampler (Efficient)",
        ..GENERIC_SAMPLER
    },
    SamplerSpec {
        class: "KSampler Adv. (Efficient)",
        seed: "noise_seed|seed",
        ..GENERIC_SAMPLER
    },
    SamplerSpec {
        class: "KSamplerAdvanced //Inspire",
        seed: "noise_seed|seed",
        ..GENERIC_SAMPLER
    },
    SamplerSpec {
        class: "WanVideoSampler",
        seed: "seed",
        steps: "steps",
        cfg: "cfg",
        sampler: "scheduler",
        scheduler: "",
        denoise: "denoise_strength",
        positive: "text_embeds",
        negative: "text_embeds",
        model: "model",
        latent: "samples|image_embeds",
    },
];

/// Schedulers that are a node of their own (the `sigmas` input of `SamplerCustom*`), by the name they stand for
/// when the node has no `scheduler` input.
pub const SIGMA_SCHEDULERS: &[(&str, &str)] = &[
    ("KarrasScheduler", "karras"),
    ("ExponentialScheduler", "exponential"),
    ("PolyexponentialScheduler", "polyexponential"),
    ("AlignYourStepsScheduler", "align_your_steps"),
    ("SDTurboScheduler", "sd_turbo"),
    ("BetaSamplingScheduler", "beta"),
    ("LaplaceScheduler", "laplace"),
    ("VPScheduler", "vp"),
    ("GITSScheduler", "gits"),
    ("OptimalStepsScheduler", "optimal_steps"),
    ("LTXVScheduler", "ltxv"),
];

/// Sampler-selection nodes without a `sampler_name` input (the `sampler` input of `SamplerCustom*`), by the
/// sampler name they stand for.
pub const SAMPLER_NODES: &[(&str, &str)] = &[
    ("SamplerEulerAncestral", "euler_ancestral"),
    ("SamplerEulerAncestralCFGPP", "euler_ancestral_cfg_pp"),
    ("SamplerLMS", "lms"),
    ("SamplerDPMPP_2M_SDE", "dpmpp_2m_sde"),
    ("SamplerDPMPP_3M_SDE", "dpmpp_3m_sde"),
    ("SamplerDPMPP_SDE", "dpmpp_sde"),
    ("SamplerDPMPP_2S_Ancestral", "dpmpp_2s_ancestral"),
    ("SamplerDPMAdaptative", "dpm_adaptive"),
    ("SamplerLCMUpscale", "lcm_upscale"),
    ("SamplerER_SDE", "er_sde"),
    ("SamplerSASolver", "sa_solver"),
];

/// Nodes that unpack a bundle ("pipe"): class, the input holding the bundle, and for each output slot the
/// input of the packing node that the slot passes on.
pub const UNPACKERS: &[(&str, &str, &[&str])] = &[
    (
        "FromBasicPipe",
        "basic_pipe",
        &["model", "clip", "vae", "positive", "negative"],
    ),
    (
        "FromBasicPipe_v2",
        "basic_pipe",
        &["basic_pipe", "model", "clip", "vae", "positive", "negative"],
    ),
];

/// Loaders that also encode the prompt texts: their `positive`/`negative` inputs are literal texts, and the
/// conditioning outputs carry them.
pub const LOADERS_WITH_PROMPTS: &[&str] =
    &["Efficient Loader", "easy a1111Loader", "easy comfyLoader"];

/// Nodes that run a sampler over an image (face detailers, tiled upscalers): a pass after the main generation,
/// walked through on the image path and reported with the role `detailer`.
pub const DETAILERS: &[&str] = &[
    "FaceDetailer",
    "FaceDetailerPipe",
    "DetailerForEach",
    "DetailerForEachDebug",
    "DetailerForEachPipe",
    "UltimateSDUpscale",
    "UltimateSDUpscaleNoUpscale",
    "Iterative Upscale (Image)",
];

/// Output nodes: they save or show the final image. Any class whose name contains `Save` or `Preview` and has
/// an `images`/`image` input counts as well.
pub const OUTPUTS: &[&str] = &[
    "SaveImage",
    "PreviewImage",
    "SaveAnimatedWEBP",
    "SaveAnimatedPNG",
    "SaveWEBM",
    "SaveVideo",
    "CreateVideo",
    "Image Save",
    "Save Image w/Metadata",
    "SaveImageWithMetaData",
    "SaveImageExtended",
    "SaveImagePlus",
    "SDPromptSaver",
    "VHS_VideoCombine",
    "Image Saver",
    "ImageSaver",
];

/// Text encoders and the inputs that hold their text, in order. The distinct non-empty texts of a multi-field
/// encoder are joined with `, ` (`text_g` and `text_l` of SDXL are usually the same text: it is reported once).
pub const TEXT_ENCODERS: &[(&str, &[&str])] = &[
    ("CLIPTextEncode", &["text"]),
    ("CLIPTextEncodeSDXL", &["text_g", "text_l"]),
    ("CLIPTextEncodeSDXLRefiner", &["text"]),
    ("CLIPTextEncodeFlux", &["t5xxl", "clip_l"]),
    ("CLIPTextEncodeSD3", &["t5xxl", "clip_g", "clip_l"]),
    (
        "CLIPTextEncodeHiDream",
        &["llama", "t5xxl", "clip_g", "clip_l"],
    ),
    ("CLIPTextEncodeHunyuanDiT", &["mt5xl", "bert"]),
    ("CLIPTextEncodeLumina2", &["user_prompt"]),
    ("TextEncodeQwenImageEdit", &["prompt"]),
    ("TextEncodeQwenImageEditPlus", &["prompt"]),
    ("TextEncodeHunyuanVideo_ImageToVideo", &["prompt"]),
    ("smZ CLIPTextEncode", &["text", "text_g", "text_l"]),
    ("BNK_CLIPTextEncodeAdvanced", &["text"]),
    ("CLIPTextEncodeA1111", &["text"]),
    ("Power Prompt (rgthree)", &["prompt"]),
    ("Power Prompt - Simple (rgthree)", &["prompt"]),
    ("CLIPTextEncodeWithWeight", &["text"]),
    ("PromptStashSaver", &["prompt_text"]),
];

/// Text encoders whose inputs are alternatives, not parts: the first non-empty one is the text encoded. Impact
/// Pack's wildcard encoder encodes `populated_text` (the wildcards already drawn); `wildcard_text` is the template
/// it was drawn from, used only when nothing was populated (generators.md §4.4).
pub const TEXT_ALTERNATIVES: &[(&str, &[&str])] =
    &[("ImpactWildcardEncode", &["populated_text", "wildcard_text"])];

/// Input names tried, in order, on an unknown node whose class looks like a text encoder.
pub const GENERIC_TEXT_INPUTS: &[&str] = &["text", "prompt", "text_g", "text_l", "t5xxl", "clip_l"];

/// Nodes whose output is a value held in one of their inputs (primitives, literals, seed nodes), by input name.
pub const VALUE_NODES: &[(&str, &str)] = &[
    ("PrimitiveNode", "value"),
    ("PrimitiveInt", "value"),
    ("PrimitiveFloat", "value"),
    ("PrimitiveString", "value"),
    ("PrimitiveStringMultiline", "value"),
    ("PrimitiveBoolean", "value"),
    ("CR Seed", "seed"),
    ("Seed (rgthree)", "seed"),
    ("Seed", "seed"),
    ("easy seed", "seed"),
    ("Seed Generator", "seed"),
    ("SeedSelector", "seed"),
    ("Int Literal", "int"),
    ("Float Literal", "float"),
    ("String Literal", "string"),
    ("Text Multiline", "text"),
    ("Text box", "Text"),
    ("DF_Text_Box", "Text"),
    ("CR Text", "text"),
    ("CR Prompt Text", "prompt"),
    ("ttN text", "text"),
    ("JWInteger", "value"),
    ("JWFloat", "value"),
    ("JWString", "text"),
    ("ImpactInt", "value"),
    ("ImpactFloat", "value"),
    ("ImpactString", "value"),
    ("ImpactWildcardProcessor", "populated_text"),
    ("easy string", "value"),
    ("easy int", "value"),
    ("easy float", "value"),
    ("StringConstant", "string"),
    ("StringConstantMultiline", "string"),
    ("INTConstant", "value"),
    ("FloatConstant", "value"),
    ("ShowText|pysssss", "text"),
];

/// Nodes that pass a value through from one input (reroutes, previews of a value).
pub const PASS_THROUGH: &[(&str, &str)] = &[
    ("Reroute", ""),
    ("Reroute (rgthree)", ""),
    ("PreviewAny", "source"),
    ("easy showAnything", "anything"),
];

/// Switch nodes: the boolean input, the input taken when true, the input taken when false.
pub const SWITCHES: &[(&str, &str, &str, &str)] = &[
    ("ComfySwitchNode", "switch", "on_true", "on_false"),
    ("Switch any [Crystools]", "boolean", "on_true", "on_false"),
];

/// Switches that pick an input by number: class, the index input, the prefix of the numbered inputs.
pub const INDEX_SWITCHES: &[(&str, &str, &str)] = &[
    ("ImpactSwitch", "select", "input"),
    ("CR Text Input Switch", "Input", "text"),
    ("CR Image Input Switch", "Input", "image"),
    ("CR Model Input Switch", "Input", "model"),
    ("CR Conditioning Input Switch", "Input", "conditioning"),
    ("CR Latent Input Switch", "Input", "latent"),
    ("CR Clip Input Switch", "Input", "clip"),
];

/// String concatenation nodes: the inputs joined (in order), and the input holding the delimiter (empty: none).
pub const CONCATS: &[(&str, &[&str], &str)] = &[
    ("StringConcatenate", &["string_a", "string_b"], "delimiter"),
    (
        "Text Concatenate",
        &["text_a", "text_b", "text_c", "text_d"],
        "delimiter",
    ),
    ("CR Text Concatenate", &["text1", "text2"], "separator"),
    ("JoinStrings", &["string1", "string2"], "delimiter"),
    (
        "StringConcatenate (KJ)",
        &["string_a", "string_b"],
        "delimiter",
    ),
];

/// Nodes whose text output only exists at run time (LLM prompt expansion, random choices).
pub const RUNTIME_TEXT: &[&str] = &[
    "TextGenerate",
    "OllamaGenerate",
    "OllamaGenerateAdvance",
    "Florence2Run",
    "LLM",
    "GeminiNode",
    "OpenAIChatNode",
];

/// Conditioning nodes that combine several conditionings: every input whose name starts with `conditioning`
/// (or is listed) is collected.
pub const COND_COMBINERS: &[&str] = &[
    "ConditioningCombine",
    "ConditioningConcat",
    "ConditioningAverage",
    "ConditioningCombineMultiple+",
    "CR Conditioning Mixer",
];

/// Conditioning nodes that carry no text (their conditioning comes from an image or is zeroed).
pub const COND_WITHOUT_TEXT: &[&str] = &[
    "ConditioningZeroOut",
    "StableZero123_Conditioning",
    "SVD_img2vid_Conditioning",
    "CLIPVisionEncode",
];

/// Nodes that carry both prompts through one output (video wrappers' text embeds): class, the input of the
/// positive text, the input of the negative text. The sampler's role (positive or negative) picks the input;
/// a literal input is the text, a link is followed.
pub const ROLE_TEXT: &[(&str, &str, &str)] = &[
    ("WanVideoTextEmbedBridge", "positive", "negative"),
    ("WanVideoTextEncode", "positive_prompt", "negative_prompt"),
    (
        "WanVideoTextEncodeCached",
        "positive_prompt",
        "negative_prompt",
    ),
    ("WanVideoTextEncodeSingle", "prompt", ""),
];

/// Model loaders and the input holding the model name, in order of preference.
pub const MODEL_LOADERS: &[(&str, &str)] = &[
    ("CheckpointLoaderSimple", "ckpt_name"),
    ("CheckpointLoader", "ckpt_name"),
    ("ImageOnlyCheckpointLoader", "ckpt_name"),
    ("unCLIPCheckpointLoader", "ckpt_name"),
    ("CheckpointLoader|pysssss", "ckpt_name"),
    ("CheckpointLoaderNF4", "ckpt_name"),
    ("Efficient Loader", "ckpt_name"),
    ("Eff. Loader SDXL", "base_ckpt_name"),
    ("UNETLoader", "unet_name"),
    ("UnetLoaderGGUF", "unet_name"),
    ("UnetLoaderGGUFAdvanced", "unet_name"),
    ("DiffusionModelLoaderKJ", "model_name"),
    ("DiffusersLoader", "model_path"),
    ("NunchakuFluxDiTLoader", "model_path"),
    ("WanVideoModelLoader", "model"),
    ("CivitaiModelSelector", "air"),
];

/// Input names that hold a model name on an unknown loader (a node with one of them and no `model` input).
pub const GENERIC_MODEL_INPUTS: &[&str] = &["ckpt_name", "unet_name", "base_ckpt_name"];

/// LoRA loaders: name input, model-strength input.
pub const LORA_LOADERS: &[(&str, &str, &str)] = &[
    ("LoraLoader", "lora_name", "strength_model"),
    ("LoraLoaderModelOnly", "lora_name", "strength_model"),
    ("LoraLoader|pysssss", "lora_name", "strength_model"),
    ("LoraModelLoader", "lora_name", "strength_model"),
    ("HypernetworkLoader", "hypernetwork_name", "strength"),
    ("WanVideoLoraSelect", "lora", "strength"),
    ("NunchakuFluxLoraLoader", "lora_name", "lora_strength"),
];

/// Inputs followed upstream on the model path of a node that is not a loader.
pub const MODEL_PATH_INPUTS: &[&str] = &["model", "model1", "unet", "base_model"];

/// Inputs followed upstream on the CLIP path (to find `CLIPSetLastLayer`).
pub const CLIP_PATH_INPUTS: &[&str] = &["clip"];

/// Latent sources that state the generation size: class, width input, height input.
pub const LATENT_SOURCES: &[(&str, &str, &str)] = &[
    ("EmptyLatentImage", "width", "height"),
    ("EmptySD3LatentImage", "width", "height"),
    ("EmptyHunyuanLatentVideo", "width", "height"),
    ("EmptyHunyuanImageLatent", "width", "height"),
    ("EmptyMochiLatentVideo", "width", "height"),
    ("EmptyLTXVLatentVideo", "width", "height"),
    ("EmptyCosmosLatentVideo", "width", "height"),
    ("EmptyChromaRadianceLatentImage", "width", "height"),
    ("EmptyQwenImageLayeredLatentImage", "width", "height"),
    ("StableZero123_Conditioning", "width", "height"),
    ("StableZero123_Conditioning_Batched", "width", "height"),
    ("SV3D_Conditioning", "width", "height"),
    ("SVD_img2vid_Conditioning", "width", "height"),
    ("WanImageToVideo", "width", "height"),
    ("WanFirstLastFrameToVideo", "width", "height"),
    ("WanVaceToVideo", "width", "height"),
    ("HunyuanImageToVideo", "width", "height"),
    ("CosmosImageToVideoLatent", "width", "height"),
    ("LTXVImgToVideo", "width", "height"),
    ("Empty Latent Image (Inspire)", "width", "height"),
    ("WanVideoEmptyEmbeds", "width", "height"),
    ("WanVideoImageToVideoEncode", "width", "height"),
    (
        "WanVideoImageClipEncode",
        "generation_width",
        "generation_height",
    ),
    (
        "Efficient Loader",
        "empty_latent_width",
        "empty_latent_height",
    ),
    (
        "easy a1111Loader",
        "empty_latent_width",
        "empty_latent_height",
    ),
    (
        "easy comfyLoader",
        "empty_latent_width",
        "empty_latent_height",
    ),
];

/// Latent sources whose size is a `"W x H ..."` string: class, input.
pub const LATENT_SOURCES_DIMENSIONS: &[(&str, &str)] =
    &[("SDXL Empty Latent Image (rgthree)", "dimensions")];

/// Nodes that encode pixels into a latent: class, pixels input, lineage relation of the image.
pub const ENCODERS: &[(&str, &str, &str)] = &[
    ("VAEEncode", "pixels", "img2img"),
    ("VAEEncodeTiled", "pixels", "img2img"),
    ("VAEEncodeForInpaint", "pixels", "inpaint"),
    ("InpaintModelConditioning", "pixels", "inpaint"),
    ("InstructPixToPixConditioning", "pixels", "control"),
];

/// Latent nodes that merge two or more latents: class, inputs (the canvas first).
pub const LATENT_MERGES: &[(&str, &[&str])] = &[
    ("LatentComposite", &["samples_to", "samples_from"]),
    ("LatentCompositeMasked", &["destination", "source"]),
    ("LatentBlend", &["samples1", "samples2"]),
    ("LatentAdd", &["samples1", "samples2"]),
    ("LatentSubtract", &["samples1", "samples2"]),
    ("LatentBatch", &["samples1", "samples2"]),
    ("LatentInterpolate", &["samples1", "samples2"]),
];

/// Latent upscalers between two passes: class, latent input.
pub const LATENT_UPSCALERS: &[(&str, &str)] = &[
    ("LatentUpscale", "samples"),
    ("LatentUpscaleBy", "samples"),
    ("NNLatentUpscale", "latent"),
    ("LatentUpscaleModel", "samples"),
];

/// Inputs followed upstream on the latent path of an unknown node.
pub const LATENT_PATH_INPUTS: &[&str] = &["samples", "latent", "latent_image", "latents"];

/// Image nodes that merge several images: class, inputs (the main image first).
pub const IMAGE_MERGES: &[(&str, &[&str])] = &[
    ("ImageStitch", &["image1", "image2"]),
    ("ImageBatch", &["image1", "image2"]),
    ("ImageBlend", &["image1", "image2"]),
    ("ImageCompositeMasked", &["destination", "source"]),
    ("Image Blend", &["image_a", "image_b"]),
];

/// Inputs followed upstream on the image path of a node that is not a decoder.
pub const IMAGE_PATH_INPUTS: &[&str] = &[
    "images",
    "image",
    "pixels",
    "input_image",
    "source_image",
    "original_image",
    "image_a",
];

/// Nodes that load an image from disk: class, input holding the file name.
pub const IMAGE_LOADERS: &[(&str, &str)] = &[
    ("LoadImage", "image"),
    ("LoadImageMask", "image"),
    ("LoadImageOutput", "image"),
    ("Image Load", "image_path"),
    ("LoadImageFromUrl", "url"),
    ("VHS_LoadVideo", "video"),
    ("VHS_LoadVideoPath", "video"),
    ("VHS_LoadImagesPath", "directory"),
];

/// Upscale-model loaders: class, input holding the model name.
pub const UPSCALE_MODEL_LOADERS: &[(&str, &str)] = &[("UpscaleModelLoader", "model_name")];

/// Nodes on the conditioning path whose value is reported as `guidance` (distilled guidance, Flux).
pub const GUIDANCE_NODES: &[(&str, &str)] = &[("FluxGuidance", "guidance")];

/// The sampler row of a class, when it has one.
pub fn sampler_spec(class: &str) -> Option<&'static SamplerSpec> {
    SAMPLERS.iter().find(|s| s.class == class)
}

/// Look up a class in a table whose first column is the class.
pub fn lookup<'t, T>(table: &'t [(&'static str, T)], class: &str) -> Option<&'t T> {
    table.iter().find(|(c, _)| *c == class).map(|(_, v)| v)
}

/// The alternatives of an input path, each as its segments.
pub fn path_alternatives(path: &str) -> impl Iterator<Item = Vec<&str>> {
    path.split('|')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.split('>').map(str::trim).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_alternatives_and_segments() {
        let alts: Vec<Vec<&str>> =
            path_alternatives("guider>positive|guider>conditioning").collect();
        assert_eq!(
            alts,
            vec![vec!["guider", "positive"], vec!["guider", "conditioning"]]
        );
        assert_eq!(path_alternatives("").count(), 0);
    }

    #[test]
    fn every_sampler_class_is_listed_once() {
        let mut classes: Vec<&str> = SAMPLERS.iter().map(|s| s.class).collect();
        classes.sort_unstable();
        let before = classes.len();
        classes.dedup();
        assert_eq!(before, classes.len());
    }
}
