model y = m*x +
loss mean((y - Y)^2)
