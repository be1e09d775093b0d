-- MariaDB/MySQL, Spring Cloud Task 2.x tables: DATETIME keeps no fractions of a second.
-- Written for the contract suite from the column facts in the SCDF task contract
-- (shared/docs/scdf-task-contract.md §3); not copied from Spring's DDL.
-- LAST_UPDATED is a TIMESTAMP (whole seconds, stored in UTC, shown in the session time zone) in
-- real MySQL/MariaDB task schemas (nullable, no ON UPDATE: explicit_defaults_for_timestamp is ON
-- by default since MariaDB 10.10).
CREATE TABLE TASK_EXECUTION (
  TASK_EXECUTION_ID BIGINT NOT NULL PRIMARY KEY,
  START_TIME DATETIME DEFAULT NULL,
  END_TIME DATETIME DEFAULT NULL,
  TASK_NAME VARCHAR(100),
  EXIT_CODE INTEGER,
  EXIT_MESSAGE VARCHAR(2500),
  ERROR_MESSAGE VARCHAR(2500),
  LAST_UPDATED TIMESTAMP,
  EXTERNAL_EXECUTION_ID VARCHAR(255),
  PARENT_EXECUTION_ID BIGINT
) ENGINE=InnoDB;

CREATE TABLE TASK_EXECUTION_PARAMS (
  TASK_EXECUTION_ID BIGINT NOT NULL,
  TASK_PARAM VARCHAR(2500),
  CONSTRAINT TASK_EXEC_PARAMS_FK FOREIGN KEY (TASK_EXECUTION_ID)
    REFERENCES TASK_EXECUTION (TASK_EXECUTION_ID)
) ENGINE=InnoDB;
