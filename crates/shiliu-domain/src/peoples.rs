//! The 56 peoples (民族) of China as coded in GB 3304-91.

use std::sync::LazyLock;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct People {
    /// Two-digit numeric code, `01`–`56`.
    pub code: &'static str,
    pub name: &'static str,
    pub romanization: &'static str,
    pub letter_code: &'static str,
}

static PEOPLES: LazyLock<Vec<People>> = LazyLock::new(|| {
    include_str!("../data/peoples.csv")
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut f = line.split(',');
            let mut next = || f.next().expect("peoples.csv has four columns");
            People {
                code: next(),
                name: next(),
                romanization: next(),
                letter_code: next(),
            }
        })
        .collect()
});

pub fn all() -> &'static [People] {
    &PEOPLES
}

pub fn by_code(code: &str) -> Option<&'static People> {
    PEOPLES.iter().find(|p| p.code == code)
}

pub fn by_name(name: &str) -> Option<&'static People> {
    let n = name.trim();
    PEOPLES
        .iter()
        .find(|p| p.name == n || p.name.trim_end_matches('族') == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GB 3304-91 table 1 (ordered by stroke count), written here independently of the data
    /// file, which follows table 3 (numeric order): name, romanization, letter code, number.
    const TABLE_1: &str = "土家族 Tujia TJ 15|土族 Tu TU 30|门巴族 Monba MB 54|水族 Sui SU 25|毛南族 Maonan MN 36|\
乌孜别克族 Uzbek UZ 43|布依族 Buyei BY 09|布朗族 Blang BL 34|东乡族 Dongxiang DX 26|仡佬族 Gelao GL 37|\
仫佬族 Mulao ML 32|白族 Bai BA 14|汉族 Han HA 01|达斡尔族 Daur DU 31|回族 Hui HU 03|佤族 Va VA 21|\
壮族 Zhuang ZH 08|羌族 Qiang QI 33|阿昌族 Achang AC 39|纳西族 Naxi NX 27|拉祜族 Lahu LH 24|苗族 Miao MH 06|\
侗族 Dong DO 12|京族 Gin GI 49|柯尔克孜族 Kirgiz KG 29|哈尼族 Hani HN 16|哈萨克族 Kazak KZ 17|\
保安族 Bonan BN 47|俄罗斯族 Russ RS 44|独龙族 Derung DR 51|怒族 Nu NU 42|珞巴族 Lhoba LB 55|\
高山族 Gaoshan GS 23|基诺族 Jino JN 56|鄂伦春族 Oroqen OR 52|鄂温克族 Ewenki EW 45|维吾尔族 Uygur UG 05|\
塔吉克族 Tajik TA 41|塔塔尔族 Tatar TT 50|朝鲜族 Chosen CS 10|景颇族 Jingpo JP 28|傣族 Dai DA 18|\
傈僳族 Lisu LS 20|畲族 She SH 22|普米族 Pumi PM 40|裕固族 Yugur YG 48|蒙古族 Mongol MG 02|锡伯族 Xibe XB 38|\
满族 Man MA 11|瑶族 Yao YA 13|赫哲族 Hezhen HZ 53|撒拉族 Salar SL 35|德昂族 Deang DE 46|黎族 Li LI 19|\
藏族 Zang ZA 04|彝族 Yi YI 07";

    #[test]
    fn matches_the_standard() {
        let table: Vec<Vec<&str>> = TABLE_1.split('|').map(|r| r.split(' ').collect()).collect();
        assert_eq!(table.len(), 56);
        assert_eq!(all().len(), 56);
        for row in &table {
            let p = by_code(row[3]).unwrap_or_else(|| panic!("code {}", row[3]));
            assert_eq!(
                (p.name, p.romanization, p.letter_code),
                (row[0], row[1], row[2])
            );
        }
        let codes: Vec<u32> = all().iter().map(|p| p.code.parse().unwrap()).collect();
        assert_eq!(codes, (1..=56).collect::<Vec<_>>());
    }

    #[test]
    fn lookup_by_name() {
        assert_eq!(by_name("壮族").unwrap().code, "08");
        assert_eq!(by_name("仫佬").unwrap().code, "32");
        assert!(by_name("火星族").is_none());
    }
}
