//! Score digits of the v0 HUD as the 96x96 state shows them (spec §6): pyglet's DejaVu Sans
//! label, captured per cell position because sub-pixel offsets differ between the 4 cells.

/// `GLYPHS[position][digit][row][col]`: coverage 0..=255 of the white text, 5 rows × 3 cols.
pub static GLYPHS: [[[[u8; 3]; 5]; 10]; 4] = parse(TABLE);

/// '-' for the crisp (large-render) font: a short mid-height stroke.
pub const MINUS: [[u8; 3]; 5] = [[0; 3], [0; 3], [0xff, 0xff, 0], [0; 3], [0; 3]];

/// Negative labels ("-001" … "-092" captured from gym): the minus leaves no trace at 96x96
/// and the three digits land in 2-column cells at state cols 4, 7 and 10.
/// `NEG_GLYPHS[position][digit][row][col]`; position 0 (hundreds) only ever shows '0' in a
/// 1000-step episode, other hundreds digits borrow the tens glyph.
pub static NEG_GLYPHS: [[[[u8; 2]; 5]; 10]; 3] = parse_neg(NEG_TABLE);

/// First state column of each negative-label digit cell.
pub const NEG_CELL_COLS: [usize; 3] = [4, 7, 10];

const NEG_TABLE: &str = "\
N0 0:ffff/0000/0000/4201/0308
N1 0:ffff/0000/0000/280a/0600 1:ff00/0000/0000/0000/0000 2:ffff/0073/0080/ff00/0000 3:ffff/005d/00ff/0005/8400 4:00ff/a8ff/03ff/00ff/0000 5:ffff/3200/00c7/0027/8500 6:fcff/0200/7807/2f00/001f 7:ffff/00ff/0008/0000/0000 8:ffff/1c12/c4dc/0000/2b25 9:ffff/0005/fffc/00b4/8d00
N2 0:ffff/0001/0000/0d41/0800 1:ff00/0000/0000/0000/0000 2:ffff/0098/0064/ff00/0000 3:ffff/0087/00ff/0023/8a00 4:00ff/d5ff/01ff/00ff/0000 5:ffff/1100/00d6/005f/8c00 6:feff/0100/4a21/1000/0017 7:ffff/00ff/0006/0000/0000 8:ffff/093e/aee5/0000/381b 9:ffff/0020/ffef/00c8/9000
";

const TABLE: &str = "\
P0 0:02ff00/ff0082/ff00be/ff0007/00a000 1:dfff00/00ff00/00ff00/00ff00/000000 2:ffff00/000000/00fd00/190000/000000 3:ffff00/000000/001900/000042/027f00 4:00fc00/000000/fe0000/000000/000000 5:eaff00/ea0000/000000/000000/027600 6:00ff00/ff0000/ff0076/ff00a7/00a200 7:ffff27/000000/00fe00/00a300/000000 8:88ff00/ff0007/de0700/ff00a4/009e00 9:7fff00/ff0062/b6bda6/000000/1b5800
P1 0:03ff00/ff004f/ff0092/ff0004/009b00 1:f0ff00/00ff00/00ff00/00ff00/000000 2:ffff00/000000/00ff00/240000/000000 3:ffff00/000000/001f00/000000/037700 4:00ff00/000000/ff0000/000000/000000 5:f5ff00/f50000/000000/000000/036c00 6:00ff00/ff0000/ff0047/ff006c/00a000 7:ffff00/000300/00ff00/007e00/000000 8:b9ff00/ff0005/ef0b00/ff0068/009b00 9:b1ff00/ff003b/dac36a/000000/234c00
P2 0:0cff00/ff001a/ff0067/ff0001/009500 1:ffff00/00ff00/00ff00/00ff00/000000 2:ffff00/000000/00ff00/360000/000000 3:ffff00/000000/002500/000000/056f00 4:00ff00/000000/ff0000/000000/000000 5:ffff00/ff0000/000000/000000/056300 6:00ff00/ff0000/ff0018/ff0032/009c00 7:ffff00/000600/00ff00/005600/000000 8:e2ff00/ff0001/fd0f00/ff002c/009800 9:dcff00/fd0014/f8ca2f/000000/2b3f00
P3 0:3aff00/ff0000/fd0047/ff0000/008f00 1:ffff00/00ff00/00ff00/00ff00/000000 2:ffff00/000000/00ff00/660000/000000 3:ffff00/000000/002a00/000000/0f6600 4:00ff00/000000/ff0000/000000/000000 5:ffff00/ff0000/000000/000000/0f5a00 6:00ff00/ff0000/ff0000/ff0012/009800 7:ffff00/000900/00ff00/002f00/000000 8:eaff00/ff0000/fd1300/ff000c/009600 9:e5ff00/f10000/fad110/000000/333100
";

/// Parses `NEG_TABLE`; hundreds digits other than '0' fall back to the tens cell's glyph.
const fn parse_neg(s: &str) -> [[[[u8; 2]; 5]; 10]; 3] {
    let b = s.as_bytes();
    let mut out = [[[[0u8; 2]; 5]; 10]; 3];
    let mut seen = [[false; 10]; 3];
    let mut i = 0;
    let mut pos = 0;
    while i < b.len() {
        if b[i] == b'N' {
            pos = (b[i + 1] - b'0') as usize;
            i += 2;
        } else if b[i] >= b'0' && b[i] <= b'9' && i + 1 < b.len() && b[i + 1] == b':' {
            let d = (b[i] - b'0') as usize;
            let mut j = i + 2;
            let mut row = 0;
            while row < 5 {
                let mut col = 0;
                while col < 2 {
                    out[pos][d][row][col] = hex(b[j]) * 16 + hex(b[j + 1]);
                    j += 2;
                    col += 1;
                }
                j += 1;
                row += 1;
            }
            seen[pos][d] = true;
            i = j;
        } else {
            i += 1;
        }
    }
    let mut d = 0;
    while d < 10 {
        if !seen[0][d] {
            out[0][d] = out[1][d];
        }
        d += 1;
    }
    out
}

const fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("bad hex digit in glyph table"),
    }
}

/// Parses `TABLE` at compile time: for each `P<pos>` line, ten `<digit>:` entries of 5 rows.
const fn parse(s: &str) -> [[[[u8; 3]; 5]; 10]; 4] {
    let b = s.as_bytes();
    let mut out = [[[[0u8; 3]; 5]; 10]; 4];
    let mut i = 0;
    let mut pos = 0;
    while i < b.len() {
        if b[i] == b'P' {
            pos = (b[i + 1] - b'0') as usize;
            i += 2;
        } else if b[i] >= b'0' && b[i] <= b'9' && i + 1 < b.len() && b[i + 1] == b':' {
            let d = (b[i] - b'0') as usize;
            let mut j = i + 2;
            let mut row = 0;
            while row < 5 {
                let mut col = 0;
                while col < 3 {
                    out[pos][d][row][col] = hex(b[j]) * 16 + hex(b[j + 1]);
                    j += 2;
                    col += 1;
                }
                j += 1; // '/' or separator
                row += 1;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Crisp 3x5 digits (bit 2 = left column) used instead of the captured coverages when the
/// label is drawn larger than the state, where blurry 3-pixel glyphs scaled up are unreadable.
pub const FONT_3X5: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b010, 0b110, 0b010, 0b010, 0b111],
    [0b111, 0b001, 0b111, 0b100, 0b111],
    [0b111, 0b001, 0b111, 0b001, 0b111],
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b100, 0b111, 0b001, 0b111],
    [0b111, 0b100, 0b111, 0b101, 0b111],
    [0b111, 0b001, 0b001, 0b001, 0b001],
    [0b111, 0b101, 0b111, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];

/// Coverage of `ch` ('0'..='9' or '-') in cell `pos`; `captured` selects the 96x96 glyphs.
pub fn glyph(ch: u8, pos: usize, captured: bool) -> [[u8; 3]; 5] {
    if ch == b'-' {
        return MINUS;
    }
    let d = (ch - b'0') as usize;
    if captured {
        return GLYPHS[pos][d];
    }
    let mut g = [[0u8; 3]; 5];
    for (row, bits) in g.iter_mut().zip(FONT_3X5[d]) {
        for (col, v) in row.iter_mut().enumerate() {
            if bits & (0b100 >> col) != 0 {
                *v = 255;
            }
        }
    }
    g
}
