//! Compute the GS1 modulo-10 check digit shared by GTIN, GLN, SSCC and every `csum` component.

/// Returns the check digit for `data`, the ASCII digits that precede it.
///
/// Weights 3, 1, 3, 1, ... run from the rightmost data digit leftwards, and the check digit is
/// what brings the weighted sum up to a multiple of ten. Returns `None` when `data` holds a
/// character that is not an ASCII digit.
pub fn check_digit(data: &[u8]) -> Option<u8> {
    let mut sum: u32 = 0;
    for (position_from_right, &byte) in data.iter().rev().enumerate() {
        if !byte.is_ascii_digit() {
            return None;
        }
        let weight = if position_from_right % 2 == 0 { 3 } else { 1 };
        sum += weight * u32::from(byte - b'0');
    }
    // `(10 - sum % 10) % 10` is below ten, so the cast cannot truncate.
    Some(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Whether `digits` ends with the correct check digit for the digits before it.
pub fn has_valid_check_digit(digits: &[u8]) -> bool {
    match digits.split_last() {
        Some((&last, data)) => check_digit(data) == Some(last),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys() {
        assert!(has_valid_check_digit(b"09520123456788"));
        assert!(has_valid_check_digit(b"123456789012345675"));
        assert!(!has_valid_check_digit(b"09520123456789"));
        assert!(!has_valid_check_digit(b""));
        assert_eq!(check_digit(b"0952012345678"), Some(b'8'));
        assert_eq!(check_digit(b"09A"), None);
    }
}
