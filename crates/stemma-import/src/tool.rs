//! The tools this crate knows, by id.

use serde::Serialize;

/// A tool whose files this crate recognises. The id ([`Tool::id`]) is what `stemma import --as` takes and what is
/// written to `generator.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum Tool {
    /// Disco Diffusion (alembics/disco-diffusion).
    Disco,
    /// pytti-tools / pytti-core.
    Pytti,
    /// Deforum: the Colab/local notebook and the A1111 extension.
    Deforum,
    /// VQGAN+CLIP notebooks and nerdyrodent/VQGAN-CLIP.
    VqganClip,
    /// AUTOMATIC1111 stable-diffusion-webui file names and sidecars.
    A1111,
    /// The original Stable Diffusion scripts and early forks (CompVis, basujindal, the Discord beta bot).
    StableDiffusion,
    /// OpenAI downloads: DALL·E 2, DALL·E 3 in ChatGPT, GPT-4o images in ChatGPT.
    Dalle,
    /// DreamStudio web app and the stability-sdk CLI.
    DreamStudio,
    /// Midjourney downloads.
    Midjourney,
    /// NMKD Stable Diffusion GUI.
    Nmkd,
    /// Fooocus.
    Fooocus,
    /// InvokeAI 2.x (lstein) CLI.
    InvokeAi,
    /// Practical-RIFE frame interpolation.
    Rife,
    /// FILM frame interpolation.
    Film,
    /// Flowframes frame interpolation.
    Flowframes,
    /// No tool recognised: a prompt (and maybe a number) in the file name, or a plain numbered frame.
    Generic,
}

impl Tool {
    /// Every tool, in the order of [`Tool::id`]'s documentation.
    pub const ALL: &'static [Tool] = &[
        Tool::Disco,
        Tool::Pytti,
        Tool::Deforum,
        Tool::VqganClip,
        Tool::A1111,
        Tool::StableDiffusion,
        Tool::Dalle,
        Tool::DreamStudio,
        Tool::Midjourney,
        Tool::Nmkd,
        Tool::Fooocus,
        Tool::InvokeAi,
        Tool::Rife,
        Tool::Film,
        Tool::Flowframes,
        Tool::Generic,
    ];

    /// The lower-case id (`disco`, `pytti`, `deforum`, `vqgan-clip`, `a1111`, `stable-diffusion`, `dalle`,
    /// `dreamstudio`, `midjourney`, `nmkd`, `fooocus`, `invokeai`, `rife`, `film`, `flowframes`, `filename`).
    pub fn id(self) -> &'static str {
        match self {
            Tool::Disco => "disco",
            Tool::Pytti => "pytti",
            Tool::Deforum => "deforum",
            Tool::VqganClip => "vqgan-clip",
            Tool::A1111 => "a1111",
            Tool::StableDiffusion => "stable-diffusion",
            Tool::Dalle => "dalle",
            Tool::DreamStudio => "dreamstudio",
            Tool::Midjourney => "midjourney",
            Tool::Nmkd => "nmkd",
            Tool::Fooocus => "fooocus",
            Tool::InvokeAi => "invokeai",
            Tool::Rife => "rife",
            Tool::Film => "film",
            Tool::Flowframes => "flowframes",
            Tool::Generic => "filename",
        }
    }

    /// The tool for an id or a common alias (`disco-diffusion`, `dd`, `dall-e`, `chatgpt`, `mj`, `sd`, ...).
    pub fn from_id(id: &str) -> Option<Tool> {
        let id = id.trim().to_ascii_lowercase().replace('_', "-");
        let tool = match id.as_str() {
            "disco" | "disco-diffusion" | "dd" => Tool::Disco,
            "pytti" | "pytti-core" | "pytti-tools" => Tool::Pytti,
            "deforum" => Tool::Deforum,
            "vqgan-clip" | "vqgan" | "vqganclip" => Tool::VqganClip,
            "a1111" | "automatic1111" | "webui" => Tool::A1111,
            "stable-diffusion" | "sd" | "compvis" | "basujindal" => Tool::StableDiffusion,
            "dalle" | "dall-e" | "chatgpt" | "openai" => Tool::Dalle,
            "dreamstudio" | "stability" | "stability-sdk" => Tool::DreamStudio,
            "midjourney" | "mj" => Tool::Midjourney,
            "nmkd" => Tool::Nmkd,
            "fooocus" => Tool::Fooocus,
            "invokeai" | "invoke" | "lstein" => Tool::InvokeAi,
            "rife" => Tool::Rife,
            "film" => Tool::Film,
            "flowframes" => Tool::Flowframes,
            "filename" | "generic" => Tool::Generic,
            _ => return None,
        };
        Some(tool)
    }
}

impl From<Tool> for &'static str {
    fn from(tool: Tool) -> &'static str {
        tool.id()
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}
