//! Name search that ignores case and Vietnamese diacritics: "nguyen thi
//! huong" and "HUONG" both find "Nguyễn Thị Hường".
//!
//! Each profile stores its name folded once, when it is written, in
//! `participants.search_name`; a query is folded the same way and matched
//! word by word against the start of the stored words. Nothing is folded
//! at query time on the database side, so both backends compare plain
//! ASCII text.

/// The accented lower-case vowels of Vietnamese, by their base letter
/// (precomposed forms; decomposed input loses its combining marks below).
const VIETNAMESE_VOWELS: [(char, &str); 6] = [
    ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
    ('e', "èéẻẽẹêềếểễệ"),
    ('i', "ìíỉĩị"),
    ('o', "òóỏõọôồốổỗộơờớởỡợ"),
    ('u', "ùúủũụưừứửữự"),
    ('y', "ỳýỷỹỵ"),
];

/// Combining diacritical marks, as sent by keyboards that type decomposed
/// Unicode (a base letter followed by its marks).
const COMBINING_MARKS: std::ops::RangeInclusive<char> = '\u{300}'..='\u{36f}';

fn fold_char(c: char) -> Option<char> {
    if COMBINING_MARKS.contains(&c) {
        return None;
    }
    if c == 'đ' {
        return Some('d');
    }
    let base = VIETNAMESE_VOWELS.iter().find(|(_, accented)| accented.contains(c));
    Some(base.map_or(c, |(base, _)| *base))
}

/// The words of `text`, lower-cased and without diacritics; anything that
/// is not a letter or digit separates words.
fn folded_words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .filter_map(fold_char)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().map(str::to_owned).collect()
}

/// The stored search key of a name: its folded words, each preceded by a
/// space, so that `LIKE '% word%'` matches the start of any word.
pub fn search_name(full_name: &str) -> String {
    folded_words(full_name).iter().map(|word| format!(" {word}")).collect()
}

/// The `LIKE` patterns a query stands for: a profile matches when its
/// search key matches every one. Folding leaves only letters, digits and
/// spaces, so no pattern holds a `%` or `_` of the caller's.
pub fn like_patterns(query: &str) -> Vec<String> {
    folded_words(query).iter().map(|word| format!("% {word}%")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(name: &str, query: &str) -> bool {
        let key = search_name(name);
        like_patterns(query).iter().all(|pattern| {
            let word = pattern.trim_matches('%');
            key.contains(word)
        })
    }

    #[test]
    fn folds_case_and_diacritics() {
        assert_eq!(search_name("Nguyễn Thị Hường"), " nguyen thi huong");
        assert_eq!(search_name("  ĐẶNG   văn-Đức "), " dang van duc");
        // The same name typed decomposed (base letters and combining marks).
        assert_eq!(search_name("Nguye\u{302}\u{303}n Thi\u{323}"), " nguyen thi");
        assert_eq!(like_patterns("HUONG"), ["% huong%"]);
        assert_eq!(like_patterns("%_"), Vec::<String>::new());
    }

    #[test]
    fn every_accented_vowel_folds_to_its_base() {
        for (base, accented) in VIETNAMESE_VOWELS {
            for vowel in accented.chars() {
                assert_eq!(search_name(&vowel.to_string()), format!(" {base}"), "{vowel}");
                let upper: String = vowel.to_uppercase().collect();
                assert_eq!(search_name(&upper), format!(" {base}"), "{upper}");
            }
        }
    }

    #[test]
    fn queries_match_word_starts() {
        assert!(matches("Nguyễn Thị Hường", "nguyen thi huong"));
        assert!(matches("Nguyễn Thị Hường", "HUONG"));
        assert!(matches("Nguyễn Thị Hường", "hường ngu"));
        assert!(!matches("Nguyễn Thị Hường", "uong"));
        assert!(!matches("Nguyễn Thị Hường", "huong lan"));
    }
}
