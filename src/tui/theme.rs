//! Colours, glyphs and text styles. Every state is shown as a glyph and a
//! word as well as a colour, so `NO_COLOR` (https://no-color.org) loses no
//! information: with it, only bold/reverse/underline remain.

use crate::cluster::health::HealthState;
use crate::store::Status;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty.
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    pub const fn plain() -> Theme {
        Theme { color: false }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn status(self, s: Status) -> Style {
        match s {
            Status::Provisioning => self.fg(Color::Yellow),
            Status::Ready => self.fg(Color::Green),
            Status::Failed => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Status::Deleting => self.fg(Color::Magenta),
            Status::DeleteFailed => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Status::Deleted => self.fg(Color::DarkGray),
            Status::Restoring => self.fg(Color::Cyan),
        }
    }

    pub fn health(self, h: HealthState) -> Style {
        match h {
            HealthState::Ready => self.fg(Color::Green),
            HealthState::Progressing => self.fg(Color::Yellow),
            HealthState::Degraded => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            HealthState::Missing => self.fg(Color::DarkGray),
        }
    }

    pub fn ok(self, ok: bool) -> Style {
        if ok {
            self.fg(Color::Green)
        } else {
            self.fg(Color::Red).add_modifier(Modifier::BOLD)
        }
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn header_key(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn table_header(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn selected(self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn warning(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn banner_error(self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Red)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    pub fn read_only(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    pub fn focus_border(self) -> Style {
        if self.color {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    pub fn border(self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn input(self) -> Style {
        Style::new().add_modifier(Modifier::UNDERLINED)
    }
}

pub fn status_glyph(s: Status) -> &'static str {
    match s {
        Status::Provisioning => "◐",
        Status::Ready => "●",
        Status::Failed => "✗",
        Status::Deleting => "◌",
        Status::DeleteFailed => "✗",
        Status::Deleted => "·",
        Status::Restoring => "◑",
    }
}

pub fn health_glyph(h: HealthState) -> &'static str {
    match h {
        HealthState::Ready => "●",
        HealthState::Progressing => "◐",
        HealthState::Degraded => "✗",
        HealthState::Missing => "·",
    }
}

pub fn ok_glyph(ok: bool) -> &'static str {
    if ok { "●" } else { "✗" }
}
