//! Organisation: the region tree below the official divisions, service sites and units.

use crate::error::{optional_text, required_text};
use crate::{FieldError, FieldErrors};

/// Define an enum stored and exchanged as a short code, with `ALL`, `as_str` and `parse`.
#[macro_export]
macro_rules! code_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $v:ident = $code:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $code,)+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($code => Some($name::$v),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_enum! {
    /// A node of the region tree. The first four come from the official division codes; the
    /// last two are created by admins below townships.
    pub enum RegionKind {
        Province = "province",
        City = "city",
        County = "county",
        Township = "township",
        /// 社区 / 行政村
        Community = "community",
        /// 网格
        Grid = "grid",
    }
}

impl RegionKind {
    /// The kind a child of `self` must have, if admins may create children here.
    pub fn creatable_child(self) -> Option<RegionKind> {
        match self {
            RegionKind::Township => Some(RegionKind::Community),
            RegionKind::Community => Some(RegionKind::Grid),
            _ => None,
        }
    }

    pub fn is_official(self) -> bool {
        !matches!(self, RegionKind::Community | RegionKind::Grid)
    }
}

code_enum! {
    pub enum SiteType {
        /// 民族之家
        MinzuHome = "minzu_home",
        /// 流动人口服务站 / 服务中心
        MigrantStation = "migrant_station",
        /// 解忧超市
        JieyouDesk = "jieyou_desk",
        /// 法律援助中心 / 工作室
        LegalAid = "legal_aid",
        /// 矛盾纠纷调解室
        Mediation = "mediation",
        /// 人大代表联络站
        DeputyLiaison = "deputy_liaison",
        /// 教育基地
        EducationBase = "education_base",
        Other = "other",
    }
}

code_enum! {
    pub enum UnitCategory {
        /// 党政部门
        Department = "department",
        /// 县（市、区）
        CountyDistrict = "county_district",
        /// 乡镇（街道）
        TownshipStreet = "township_street",
        /// 社区 / 村
        CommunityVillage = "community_village",
        /// 学校
        School = "school",
        /// 企业
        Enterprise = "enterprise",
        /// 群团组织 / 社会组织
        Organisation = "organisation",
        /// 医院
        Hospital = "hospital",
        /// 宗教活动场所
        ReligiousSite = "religious_site",
        Other = "other",
    }
}

/// A new community or grid, as validated from a form or an import row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInput {
    pub name: String,
    /// Optional: the 12-digit statistical code of a community or village; generated if absent.
    pub code: Option<String>,
}

impl RegionInput {
    pub fn parse(name: &str, code: &str) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(required_text("name", name, 60));
        let code = errs.check(optional_text("code", code, 20)).flatten();
        if let Some(c) = &code
            && !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        {
            errs.push(FieldError::new("code", "err.code.chars"));
        }
        errs.into_result()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            code,
        })
    }
}

/// A service site's editable fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SiteInput {
    pub name: String,
    pub site_type: SiteType,
    pub address: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub opening_hours: Option<String>,
}

impl SiteInput {
    pub fn parse(
        name: &str,
        site_type: &str,
        address: &str,
        contact_name: &str,
        contact_phone: &str,
        opening_hours: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(required_text("name", name, 80));
        let site_type = errs.check(
            SiteType::parse(site_type.trim())
                .ok_or_else(|| FieldError::new("site_type", "err.choice")),
        );
        let address = errs.check(optional_text("address", address, 200)).flatten();
        let contact_name = errs
            .check(optional_text("contact_name", contact_name, 40))
            .flatten();
        let contact_phone = errs.check(contact_phone_field(contact_phone)).flatten();
        let opening_hours = errs
            .check(optional_text("opening_hours", opening_hours, 100))
            .flatten();
        errs.into_result()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            site_type: site_type.unwrap_or(SiteType::Other),
            address,
            contact_name,
            contact_phone,
            opening_hours,
        })
    }
}

/// A unit's editable fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnitInput {
    pub name: String,
    pub category: UnitCategory,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

impl UnitInput {
    pub fn parse(
        name: &str,
        category: &str,
        contact_name: &str,
        contact_phone: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(required_text("name", name, 100));
        let category = errs.check(
            UnitCategory::parse(category.trim())
                .ok_or_else(|| FieldError::new("category", "err.choice")),
        );
        let contact_name = errs
            .check(optional_text("contact_name", contact_name, 40))
            .flatten();
        let contact_phone = errs.check(contact_phone_field(contact_phone)).flatten();
        errs.into_result()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            category: category.unwrap_or(UnitCategory::Other),
            contact_name,
            contact_phone,
        })
    }
}

/// A contact telephone: a mobile number, or a landline such as `0771-1234567` or `12345`.
fn contact_phone_field(v: &str) -> Result<Option<String>, FieldError> {
    if v.trim().is_empty() {
        return Ok(None);
    }
    crate::mobile::Phone::parse(v)
        .map(|p| Some(p.as_str().to_string()))
        .map_err(|e| e.on("contact_phone"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_input_reports_every_bad_field() {
        let errs = SiteInput::parse("", "castle", "", "", "abc", "").unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "site_type", "contact_phone"]);
        let ok = SiteInput::parse(
            " 万秀村民族之家 ",
            "minzu_home",
            "",
            "",
            "0771-3211234",
            "周一至周五",
        )
        .unwrap();
        assert_eq!(ok.name, "万秀村民族之家");
        assert_eq!(ok.site_type, SiteType::MinzuHome);
    }

    #[test]
    fn creatable_children() {
        assert_eq!(
            RegionKind::Township.creatable_child(),
            Some(RegionKind::Community)
        );
        assert_eq!(
            RegionKind::Community.creatable_child(),
            Some(RegionKind::Grid)
        );
        assert_eq!(RegionKind::County.creatable_child(), None);
        assert!(RegionInput::parse("一网格", "4501/07").is_err());
    }
}
