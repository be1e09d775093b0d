package generator.scdftask.timestamp;

import java.text.SimpleDateFormat;
import java.util.Date;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.CommandLineRunner;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cloud.task.configuration.EnableTask;
import org.springframework.context.annotation.Bean;

/** Prints the time in {@code timestamp.format}; Spring Cloud Task records the run. */
@SpringBootApplication
@EnableTask
public class TimestampTask {

  public static void main(String[] args) {
    SpringApplication.run(TimestampTask.class, args);
  }

  @Bean
  public CommandLineRunner timestamp(
      @Value("${timestamp.format:yyyy-MM-dd HH:mm:ss.SSS}") String format) {
    return args -> System.out.println(new SimpleDateFormat(format).format(new Date()));
  }
}
